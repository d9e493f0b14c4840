using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using AspireChat.Tests.Docs;

namespace AspireChat.Tests.AppHost;

/// <summary>
/// The manifest the AppHost publishes for azd (<c>--publisher manifest</c>), produced the way azd produces it: the
/// AppHost in a child process. Four projects; MongoDB (or PostgreSQL), Redis and Kafka as containers or, for managed services, as
/// connection-string parameters; secrets as secret parameters; nothing azd rejects (no <c>executable.v0</c>).
/// </summary>
public sealed class ManifestTests
{
    private static readonly string[] Projects = ["gateway", "deliveryworker", "pushservice", "idservice"];
    private static readonly string[] BackingServices = ["mongo", "redis", "kafka"];

    // The resource types azd deploys to Container Apps; executable.v0 is not among them.
    private static readonly string[] TypesAzdAccepts =
        ["project.v0", "project.v1", "container.v0", "container.v1", "dockerfile.v0", "parameter.v0", "value.v0", "annotated.string"];

    [Fact]
    public async Task Published_manifest_has_the_four_services_as_projects_and_the_backing_services_as_containers()
    {
        var resources = await PublishAsync();

        foreach (var project in Projects) Assert.StartsWith("project.v", TypeOf(resources, project));
        Assert.Equal("docker.io/library/mongo:8.3", resources.GetProperty("mongo").GetProperty("image").GetString());
        Assert.Equal("docker.io/confluentinc/confluent-local:8.2.0", resources.GetProperty("kafka").GetProperty("image").GetString());
        Assert.StartsWith("docker.io/library/redis:", resources.GetProperty("redis").GetProperty("image").GetString());
        foreach (var container in BackingServices) Assert.StartsWith("container.v", TypeOf(resources, container));

        var gateway = EnvironmentOf(resources, "gateway");
        foreach (var name in BackingServices) Assert.Contains($"ConnectionStrings__{name}", gateway.Keys);
        Assert.Contains("{mongo-password.value}", gateway["ConnectionStrings__mongo"]);
        Assert.Equal("true", resources.GetProperty("gateway").GetProperty("bindings").GetProperty("http").GetProperty("external").GetRawText());
        AssertNothingAzdRejects(resources);
    }

    [Fact]
    public async Task A_deployment_samples_traces_at_one_percent_unless_told_otherwise()
    {
        var resources = await PublishAsync();
        foreach (var project in Projects)
        {
            var env = EnvironmentOf(resources, project);
            Assert.Equal(("parentbased_traceidratio", "0.01"), (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]));
        }

        var tuned = await PublishAsync("--Telemetry:TraceSampleRatio=0.25");
        Assert.Equal("0.25", EnvironmentOf(tuned, "gateway")["OTEL_TRACES_SAMPLER_ARG"]);
    }

    [Fact]
    public async Task Published_MongoDB_container_is_a_single_node_replica_set_that_initiates_itself_and_the_services_reach_directly()
    {
        var resources = await PublishAsync();

        var mongo = resources.GetProperty("mongo");
        Assert.Equal("bash", mongo.GetProperty("entrypoint").GetString());
        string[] args = [.. mongo.GetProperty("args").EnumerateArray().Select(a => a.GetString()!)];
        Assert.Equal("-c", args[0]);
        var script = args[1];
        Assert.Contains("docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile /tmp/mongo-keyfile", script);
        Assert.Contains("rs.initiate(c)", script);
        Assert.Contains("m.host = \"localhost:27017\"", script);
        // azd reads {…} in a manifest's strings as expressions: the script must hold none.
        Assert.DoesNotContain("{", script);
        Assert.Contains("directConnection=true", EnvironmentOf(resources, "gateway")["ConnectionStrings__mongo"]);
    }

    [Fact]
    public async Task Published_manifest_asks_for_every_secret_as_a_secret_parameter()
    {
        var resources = await PublishAsync();

        foreach (var secret in new[] { "jwt-signing-key", "vapid-private-key", "mongo-password", "redis-password" })
        {
            Assert.Equal("parameter.v0", TypeOf(resources, secret));
            Assert.True(resources.GetProperty(secret).GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean(), $"{secret} is not secret");
        }
        Assert.Equal("{jwt-signing-key.value}", EnvironmentOf(resources, "gateway")["Auth__SigningKey"]);
        Assert.Equal("{vapid-private-key.value}", EnvironmentOf(resources, "pushservice")["Push__Vapid__PrivateKey"]);
        Assert.Equal("{mongo-password.value}", EnvironmentOf(resources, "mongo")["MONGO_INITDB_ROOT_PASSWORD"]);
        // No secret is written into the manifest in the clear, and local-run conveniences stay local.
        Assert.DoesNotContain("Auth__DevTokens", EnvironmentOf(resources, "gateway").Keys);
        Assert.DoesNotContain("Push__Vapid__KeyFile", EnvironmentOf(resources, "gateway").Keys);
    }

    [Fact]
    public async Task Managed_services_become_connection_string_parameters_instead_of_containers()
    {
        var resources = await PublishAsync("--AspireChat:Managed=true");

        foreach (var name in BackingServices)
        {
            Assert.Equal("parameter.v0", TypeOf(resources, name));
            Assert.True(resources.GetProperty(name).GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
            Assert.Equal($"{{{name}.connectionString}}", EnvironmentOf(resources, "gateway")[$"ConnectionStrings__{name}"]);
        }
        Assert.False(resources.TryGetProperty("mongo-password", out _));
        Assert.DoesNotContain(resources.EnumerateObject(), r => TypeOf(resources, r.Name).StartsWith("container.", StringComparison.Ordinal));
        foreach (var project in Projects) Assert.StartsWith("project.v", TypeOf(resources, project));
        AssertNothingAzdRejects(resources);
    }

    [Fact]
    public async Task A_connection_string_given_to_the_apphost_makes_only_that_service_managed()
    {
        var resources = await PublishAsync("--ConnectionStrings:kafka=my-namespace.servicebus.windows.net:9093");

        Assert.Equal("parameter.v0", TypeOf(resources, "kafka"));
        Assert.Equal("container.v0", TypeOf(resources, "mongo"));
        Assert.Equal("container.v0", TypeOf(resources, "redis"));
        // The value is asked for at deployment, never copied into the manifest.
        Assert.DoesNotContain("servicebus", resources.GetRawText());
    }

    [Fact]
    public async Task The_Event_Hubs_profile_asks_for_the_bootstrap_servers_and_the_SASL_password_and_gives_every_Kafka_client_its_settings()
    {
        var resources = await PublishAsync("--AspireChat:KafkaProfile=EventHubs");

        Assert.Equal("parameter.v0", TypeOf(resources, "kafka"));
        Assert.Equal("parameter.v0", TypeOf(resources, "kafka-sasl-password"));
        Assert.True(resources.GetProperty("kafka-sasl-password").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.Equal("container.v0", TypeOf(resources, "mongo"));
        foreach (var project in new[] { "gateway", "deliveryworker", "pushservice" })
        {
            var env = EnvironmentOf(resources, project);
            Assert.Equal("{kafka.connectionString}", env["ConnectionStrings__kafka"]);
            Assert.Equal("{kafka-sasl-password.value}", env["Kafka__Settings__sasl.password"]);
            Assert.Equal(("SASL_SSL", "PLAIN", "$ConnectionString"),
                (env["Kafka__Settings__security.protocol"], env["Kafka__Settings__sasl.mechanism"], env["Kafka__Settings__sasl.username"]));
            // Event Hubs' minimums (session 30 s, requests 60 s) and its 1 MB request limit.
            Assert.Equal(("00:00:30", "60000", "1000000"), (env["Kafka__SessionTimeout"], env["Kafka__Settings__request.timeout.ms"], env["Kafka__Settings__message.max.bytes"]));
        }
        Assert.DoesNotContain("Kafka__Settings__sasl.password", EnvironmentOf(resources, "idservice").Keys);
        AssertNothingAzdRejects(resources);
    }

    [Fact]
    public async Task AspireChat_Store_postgres_publishes_a_PostgreSQL_container_and_its_database_in_MongoDBs_place()
    {
        var resources = await PublishAsync("--AspireChat:Store=postgres");

        Assert.False(resources.TryGetProperty("mongo", out _));
        Assert.StartsWith("docker.io/library/postgres:", resources.GetProperty("postgres-server").GetProperty("image").GetString());
        Assert.StartsWith("container.v", TypeOf(resources, "postgres-server"));
        Assert.Equal("parameter.v0", TypeOf(resources, "postgres-server-password"));
        Assert.True(resources.GetProperty("postgres-server-password").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.Contains("Database=aspirechat", resources.GetProperty("postgres").GetProperty("connectionString").GetString());
        foreach (var project in new[] { "gateway", "deliveryworker", "pushservice" })
            Assert.Equal("{postgres.connectionString}", EnvironmentOf(resources, project)["ConnectionStrings__postgres"]);
        AssertNothingAzdRejects(resources);
    }

    [Fact]
    public async Task A_managed_PostgreSQL_is_a_connection_string_parameter()
    {
        var resources = await PublishAsync("--AspireChat:Store=postgres", "--ConnectionStrings:postgres=Host=my-server.postgres.database.azure.com");

        Assert.Equal("parameter.v0", TypeOf(resources, "postgres"));
        Assert.True(resources.GetProperty("postgres").GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean());
        Assert.Equal("{postgres.connectionString}", EnvironmentOf(resources, "gateway")["ConnectionStrings__postgres"]);
        Assert.False(resources.TryGetProperty("postgres-server", out _));
        Assert.Equal("container.v0", TypeOf(resources, "redis"));
        Assert.DoesNotContain("my-server", resources.GetRawText());
        AssertNothingAzdRejects(resources);
    }

    private static void AssertNothingAzdRejects(JsonElement resources)
    {
        foreach (var resource in resources.EnumerateObject())
            Assert.True(TypesAzdAccepts.Contains(TypeOf(resources, resource.Name)), $"{resource.Name} is {TypeOf(resources, resource.Name)}");
    }

    private static string TypeOf(JsonElement resources, string name) =>
        resources.TryGetProperty(name, out var resource) ? resource.GetProperty("type").GetString()! : $"(no resource '{name}')";

    private static Dictionary<string, string> EnvironmentOf(JsonElement resources, string name) =>
        resources.GetProperty(name).GetProperty("env").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetString()!);

    /// <summary>Runs the AppHost as azd does, with the manifest publisher, and returns the manifest's resources.</summary>
    private static async Task<JsonElement> PublishAsync(params string[] settings)
    {
        var folder = AspireChat.Tests.Support.TempDirectory.Create();
        var output = Path.Combine(folder, "aspire-manifest.json");
        // The AppHost's own build output (building the tests builds it): its dependencies, not the test project's.
        var configuration = typeof(ManifestTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var appHost = Repository.PathOf($"AppHost/bin/{configuration}/net10.0/AspireChat.AppHost.dll");
        Assert.True(File.Exists(appHost), $"{appHost} is not built");
        var info = new ProcessStartInfo("dotnet", [appHost, "--publisher", "manifest", "--output-path", output, .. settings])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // What the developer's shell may hold must not change the manifest under test.
        info.Environment.Remove("AspireChat__Managed");
        info.Environment.Remove("AspireChat__Store");
        foreach (var name in BackingServices.Append("postgres")) info.Environment.Remove($"ConnectionStrings__{name}");

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"the AppHost exited with {process.ExitCode}: {await stdout}{await stderr}");
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        return manifest.RootElement.GetProperty("resources").Clone();
    }
}
