using AspireChat.Messaging.Hosting;
using AspireChat.Messaging.Log;
using AspireChat.Messaging.Pipeline;
using AspireChat.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Log;

/// <summary>
/// A host whose log consumer ends while it runs (the Kafka log gave up on a consumer that kept faulting, or any log's
/// consume failed) stops, rather than run on with <c>/health</c> green and nothing consumed: the DeliveryWorker's stages
/// and the PushService's consumer alike — and so does a gateway whose stage 0 fails, which would leave every send unanswered.
/// </summary>
public sealed class StageLoopTests
{
    [Theory]
    [InlineData("chat.accepted")]
    [InlineData("chat.inbox")]
    [InlineData("chat.push")]
    public async Task A_log_consumer_that_fails_while_the_host_runs_stops_the_host_and_says_which(string failing)
    {
        var directory = TempDirectory.Create();
        var logs = new CapturedLogs();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Path"] = Path.Combine(directory, "store"),
            // The distributed composition in one process: stages 1 and 2 and the push consumer consume the log.
            ["Pipeline:Composition"] = "Distributed",
        });
        builder.Logging.AddProvider(logs);
        var log = new FailingLog(failing, new InMemoryMessageLog(Microsoft.Extensions.Logging.Abstractions.NullLogger<InMemoryMessageLog>.Instance));
        builder.Services.AddSingleton<IMessageLog>(log);
        builder.AddChatGateway();
        using var host = builder.Build();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();
        log.Fail();
        await Wait.ForAsync(stopping.Task, "the host stops");

        var critical = Assert.Single(logs.AtLeast(LogLevel.Critical));
        Assert.Contains($"The {failing} consumer", critical);
        await host.StopAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Stage_0_failing_while_the_gateway_runs_stops_the_host_and_says_which()
    {
        var directory = TempDirectory.Create();
        var logs = new CapturedLogs();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Path"] = Path.Combine(directory, "store") });
        builder.Logging.AddProvider(logs);
        var composition = new FailingComposition();
        // Registered first: the gateway's composition is added only where none is.
        builder.Services.AddSingleton<IPipelineComposition>(composition);
        builder.AddChatGateway();
        using var host = builder.Build();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();
        composition.Fail();
        await Wait.ForAsync(stopping.Task, "the host stops");

        var critical = Assert.Single(logs.AtLeast(LogLevel.Critical));
        Assert.Contains("The stage 0 (accept) loop ended", critical);
        await host.StopAsync();
        Directory.Delete(directory, recursive: true);
    }

    /// <summary>Stage 0 that takes no send and fails when told to (as a composition whose queue faulted does).</summary>
    private sealed class FailingComposition : IPipelineComposition
    {
        private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail() => _failed.TrySetException(new InvalidOperationException("stage 0 failed"));

        public Task RunAsync(CancellationToken cancellationToken) => _failed.Task;
    }

    /// <summary>The in-process log, whose consumer of one topic fails when told to (as a Kafka consumer that gave up does).</summary>
    private sealed class FailingLog(string topic, IMessageLog inner) : IMessageLog
    {
        private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail() => _failed.TrySetException(new MessageLogException($"the consumer of {topic} gave up"));

        public ValueTask AppendAsync<T>(LogTopic<T> logTopic, IReadOnlyList<T> records, CancellationToken cancellationToken = default) =>
            inner.AppendAsync(logTopic, records, cancellationToken);

        public Task ConsumeAsync<T>(LogTopic<T> logTopic, string group, LogBatchHandler<T> handler, CancellationToken cancellationToken) =>
            logTopic.Name == topic ? _failed.Task : inner.ConsumeAsync(logTopic, group, handler, cancellationToken);
    }
}
