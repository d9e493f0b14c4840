using AspireChat.Gateway;

GatewayApp.Build(args).Run();
