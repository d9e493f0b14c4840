using AspireChat.Bench.Cli;

return await BenchCommands.Create(args).Parse(args).InvokeAsync();
