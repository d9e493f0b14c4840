using System.Net;
using System.Text.Json;
using AspireChat.Tests.Support;

namespace AspireChat.Tests.Gateway;

/// <summary>Every bad input of docs/protocol.md gets its error code, and nothing already accepted is lost.</summary>
public sealed class BadInputTests
{
    private static async Task AssertErrorAndStillServingAsync(TestSocket socket, string code, long? req = null)
    {
        var error = await socket.ExpectAsync("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (req is not null) Assert.Equal(req, error.GetProperty("req").GetInt64());
        await socket.SendAsync(new { t = "ping" });
        await socket.ExpectAsync("pong");
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("[1,2,3]")]
    [InlineData("""{"no":"type"}""")]
    [InlineData("""{"t":"teleport"}""")]
    [InlineData("""{"t":42}""")]
    [InlineData("""{"t":"sync","after":0}""")]
    [InlineData("""{"t":"sync","after":"zero","limit":5}""")]
    [InlineData("""{"t":"sync","after":0,"limit":501}""")]
    [InlineData("""{"t":"ack","seq":"many"}""")]
    [InlineData("""{"t":"hello","token":"x","device":"d"}""")]
    public async Task Malformed_frame_gets_bad_frame_and_the_connection_stays_open(string frame)
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendTextAsync(frame);
        await AssertErrorAndStillServingAsync(alice, "bad_frame");
    }

    [Theory]
    [InlineData("""{"t":"send","ope":0,"to":"bob","type":1,"body":{}}""", null)]
    [InlineData("""{"t":"send","req":3,"ope":0,"type":1,"body":{}}""", 3L)]
    [InlineData("""{"t":"send","req":4,"ope":"zero","to":"bob","type":1,"body":{}}""", 4L)]
    [InlineData("""{"t":"send","req":5,"ope":0,"to":"bob","type":1,"body":"text"}""", 5L)]
    [InlineData("""{"t":"send","req":6,"ope":0,"to":"bob!","type":1,"body":{}}""", 6L)]
    [InlineData("""{"t":"send","req":7,"ope":2,"to":"bob","type":1,"body":{}}""", 7L)]
    [InlineData("""{"t":"send","req":0,"ope":0,"to":"bob","type":1,"body":{}}""", 0L)]
    [InlineData("""{"t":"send","req":9007199254740992,"ope":0,"to":"bob","type":1,"body":{}}""", 9007199254740992L)]
    [InlineData("""{"t":"send","req":8,"ope":0,"to":"bob","type":1,"body":{},"ex":[1]}""", 8L)]
    public async Task Malformed_send_gets_bad_frame_naming_its_req(string frame, long? req)
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendTextAsync(frame);
        var error = await alice.ExpectAsync("error");
        Assert.Equal("bad_frame", error.GetProperty("code").GetString());
        if (req is null) Assert.False(error.TryGetProperty("req", out _));
        else Assert.Equal(req, error.GetProperty("req").GetInt64());
        await alice.SendAsync(new { t = "ping" });
        await alice.ExpectAsync("pong");
    }

    [Fact]
    public async Task Forged_from_is_forbidden_and_nothing_is_delivered()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var mallory = await server.ConnectAsync("mallory");
        await using var bob = await server.ConnectAsync("bob");
        await mallory.SendAsync(new { t = "send", req = 1, ope = 0, from = "alice", to = "bob", type = 1, body = new { text = "it's alice, honest" } });
        await AssertErrorAndStillServingAsync(mallory, "forbidden", 1);

        // Naming yourself in 'from' is allowed. Had the forged send been delivered, it would sit in bob's inbox before
        // this one (the inbox is ordered by seq): bob's first msg must be this one.
        await mallory.SendAsync(new { t = "send", req = 2, ope = 0, from = "mallory", to = "bob", type = 1, body = new { text = "hi" } });
        await mallory.ExpectAsync("ack");
        var first = await bob.ExpectAsync("msg");
        Assert.Equal(("mallory", "hi", 1L), (first.GetProperty("from").GetString(), first.GetProperty("body").GetProperty("text").GetString(), first.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task Send_to_a_group_that_does_not_exist_is_not_found()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "nogroup", "hello?", ope: 1);
        await AssertErrorAndStillServingAsync(alice, "not_found", 1);
    }

    [Fact]
    public async Task Body_over_the_limit_is_too_large_and_the_connection_stays_open()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Limits:MaxBodyBytes"] = "100" });
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", new string('x', 200));
        await AssertErrorAndStillServingAsync(alice, "too_large", 1);
        await alice.SendChatAsync(2, "bob", "short");
        await alice.ExpectAsync("ack");
    }

    [Fact]
    public async Task Oversized_frame_gets_too_large_and_closes_with_4413()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.SendChatAsync(1, "bob", new string('x', 70 * 1024));
        var error = await alice.ExpectAsync("error");
        Assert.Equal("too_large", error.GetProperty("code").GetString());
        Assert.Equal(4413, (await alice.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task Frame_before_hello_closes_with_4401()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        await socket.SendChatAsync(1, "bob", "who am I?");
        var error = await socket.ExpectAsync("error");
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        Assert.Equal(4401, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl")]
    [InlineData("")]
    public async Task Hello_with_a_bad_token_closes_with_4401(string token)
    {
        await using var server = await GatewayServer.StartAsync();
        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        await socket.SendAsync(new { t = "hello", token, device = "d1" });
        Assert.Equal(4401, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_refused()
    {
        await using var other = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Auth:SigningKey"] = "another-signing-key-that-is-at-least-32-bytes" });
        var forged = await other.TokenAsync("alice");
        await using var server = await GatewayServer.StartAsync();
        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        await socket.SendAsync(new { t = "hello", token = forged, device = "d1" });
        Assert.Equal(4401, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task No_hello_within_the_timeout_closes_with_4401()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Gateway:HelloTimeout"] = "00:00:00.300" });
        await using var socket = await TestSocket.OpenAsync(server.WebSocketUri);
        Assert.Equal(4401, (await socket.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task More_than_ten_bad_frames_in_ten_seconds_close_with_4400()
    {
        await using var server = await GatewayServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        for (var i = 0; i < 11; i++) await alice.SendTextAsync("garbage");
        Assert.Equal(4400, (await alice.Closed.WaitAsync(TestSocket.DefaultTimeout)).Code);
    }

    [Fact]
    public async Task A_send_refused_rate_limited_is_not_overtaken_by_the_sends_behind_it()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Limits:SendsPerSecond"] = "2",
            ["Limits:SendBurst"] = "2",
        });
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice");
        for (var req = 1; req <= 3; req++) await alice.SendChatAsync(req, "bob", $"m{req}");
        var answers = new Dictionary<long, string>();
        while (answers.Count < 3)
        {
            var frame = await alice.ReceiveAsync();
            if (frame.GetProperty("t").GetString() is "ack" or "error") answers[frame.GetProperty("req").GetInt64()] = frame.GetProperty("t").GetString() == "ack" ? "ack" : frame.GetProperty("code").GetString()!;
        }
        Assert.Equal("rate_limited", answers[3]);

        // The next send, once the bucket has a token again, is held back behind req 3 rather than sequenced before it.
        string code;
        do
        {
            await Task.Delay(300); // a client's retry backoff: the bucket refills 2 per second
            await alice.SendChatAsync(4, "bob", "m4");
            code = await AnswerAsync(alice, 4);
        } while (code == "rate_limited");
        Assert.Equal("unavailable", code);
        // Retransmitted in req order, both are taken, and bob sees alice's order.
        foreach (var req in new long[] { 3, 4 })
        {
            do
            {
                await Task.Delay(300);
                await alice.SendChatAsync(req, "bob", $"m{req}");
                code = await AnswerAsync(alice, req);
            } while (code == "rate_limited");
            Assert.Equal("ack", code);
        }
        var received = await bob.ExpectManyAsync("msg", 4);
        Assert.Equal(["m1", "m2", "m3", "m4"], received.Select(m => m.GetProperty("body").GetProperty("text").GetString()));
    }

    // The ack or the error code that answers req (other frames skipped).
    private static async Task<string> AnswerAsync(TestSocket socket, long req)
    {
        while (true)
        {
            var frame = await socket.ReceiveAsync();
            var t = frame.GetProperty("t").GetString();
            if (t is "ack" or "error" && frame.TryGetProperty("req", out var r) && r.GetInt64() == req)
                return t == "ack" ? "ack" : frame.GetProperty("code").GetString()!;
        }
    }

    [Fact]
    public async Task Flooding_past_the_rate_limit_gets_rate_limited_then_4429_and_loses_no_accepted_message()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?>
        {
            ["Limits:SendsPerSecond"] = "1",
            ["Limits:SendBurst"] = "5",
        });
        await using var bob = await server.ConnectAsync("bob");
        await using var flooder = await server.ConnectAsync("alice");
        try
        {
            for (var req = 1; req <= 40; req++) await flooder.SendChatAsync(req, "bob", $"m{req}");
        }
        catch (System.Net.WebSockets.WebSocketException)
        {
            // The server closed the flooder before the client was done sending: that is the point.
        }

        var frames = new List<JsonElement>();
        try
        {
            while (true) frames.Add(await flooder.ReceiveAsync());
        }
        catch (InvalidOperationException)
        {
            // closed
        }
        Assert.Equal(4429, (await flooder.Closed).Code);
        var acked = frames.Where(f => f.GetProperty("t").GetString() == "ack").Select(f => f.GetProperty("req").GetInt64()).ToList();
        var limited = frames.Where(f => f.GetProperty("t").GetString() == "error").ToList();
        // The burst of 5, plus what the 1/s refill allowed while the frames were sent (a slow machine takes longer).
        Assert.InRange(acked.Count, 5, 15);
        // Past the limit: rate_limited, or unavailable for a send the refill let through behind a refused one (the order rule).
        Assert.All(limited, e => Assert.Contains(e.GetProperty("code").GetString(), new[] { "rate_limited", "unavailable" }));
        Assert.True(limited.Count > 10);

        // Everything acknowledged before the close reaches the recipient.
        var received = await bob.ExpectManyAsync("msg", acked.Count);
        Assert.Equal(acked.Order(), received.Select(m => long.Parse(m.GetProperty("body").GetProperty("text").GetString()![1..])).Order());
    }

    [Fact]
    public async Task History_of_a_conversation_you_are_not_in_is_403()
    {
        await using var server = await GatewayServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/conversations/s:alice:bob/messages");
        request.Headers.Authorization = new("Bearer", await server.TokenAsync("mallory"));
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task History_without_a_token_is_401()
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await server.Http.GetAsync("/api/conversations/s:alice:bob/messages");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/conversations/nonsense/messages")]
    [InlineData("/api/conversations/s:alice:bob/messages?limit=0")]
    [InlineData("/api/conversations/s:alice:bob/messages?limit=201")]
    [InlineData("/api/conversations/s:alice:bob/messages?limit=ten")]
    public async Task Bad_history_query_is_400_problem_details(string url)
    {
        await using var server = await GatewayServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new("Bearer", await server.TokenAsync("alice"));
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"user":"bad user!"}""")]
    [InlineData("""{}""")]
    public async Task Dev_token_for_an_invalid_user_id_is_400(string body)
    {
        await using var server = await GatewayServer.StartAsync();
        using var response = await server.Http.PostAsync("/api/dev/token", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Dev_tokens_are_not_served_unless_enabled()
    {
        await using var server = await GatewayServer.StartAsync(new Dictionary<string, string?> { ["Auth:DevTokens"] = "false" });
        using var response = await server.Http.PostAsync("/api/dev/token", new StringContent("""{"user":"alice"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
