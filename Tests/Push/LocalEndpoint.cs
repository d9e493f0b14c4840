using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspireChat.Tests.Push;

/// <summary>One request a <see cref="LocalEndpoint"/> received.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Protocol, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : throw new Xunit.Sdk.XunitException($"no '{name}' header");
}

/// <summary>
/// A stand-in for a push service or the business server: Kestrel on 127.0.0.1 (https with a self-signed
/// certificate when asked), recording every request and answering with the status the test scripts.
/// </summary>
public sealed class LocalEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<ReceivedRequest> _requests = Channel.CreateUnbounded<ReceivedRequest>();

    private LocalEndpoint(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>The self-signed certificate an https endpoint serves (null for http).</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>
    /// Starts an endpoint; <paramref name="answer"/> gives the status and body for each request (it may inspect it).
    /// </summary>
    public static async Task<LocalEndpoint> StartAsync(Func<ReceivedRequest, (int Status, string? Body)> answer, bool https = false)
    {
        var certificate = https ? SelfSignedLoopbackCertificate() : null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = https ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
            if (certificate is not null) listen.UseHttps(certificate);
        }));
        var app = builder.Build();
        var endpoint = new LocalEndpoint(app) { Certificate = certificate };
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var request = new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, context.Request.Protocol, headers, body.ToArray());
            var (status, reply) = answer(request);
            endpoint._requests.Writer.TryWrite(request);
            context.Response.StatusCode = status;
            if (reply is not null)
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(reply);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        endpoint.Address = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return endpoint;
    }

    /// <summary>The next request, or a failure after <paramref name="timeout"/>.</summary>
    public async Task<ReceivedRequest> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            return await _requests.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no request reached the endpoint in time");
        }
    }

    /// <summary>True when no request arrives within <paramref name="quiet"/>.</summary>
    public async Task<bool> StaysQuietAsync(TimeSpan quiet)
    {
        try
        {
            await NextAsync(quiet);
            return false;
        }
        catch (TimeoutException)
        {
            return true;
        }
    }

    /// <summary>Lets the gateway's named HTTP client trust exactly this endpoint's certificate.</summary>
    public void Trust(WebApplicationBuilder gateway, string httpClientName)
    {
        var thumbprint = Certificate!.GetCertHashString(HashAlgorithmName.SHA256);
        // UseSocketsHttpHandler configures the same handler the push registration does, so its connect guard stays in place.
        gateway.Services.AddHttpClient(httpClientName).UseSocketsHttpHandler((handler, _) =>
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint);
    }

    private static X509Certificate2 SelfSignedLoopbackCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Re-imported so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate?.Dispose();
    }
}
