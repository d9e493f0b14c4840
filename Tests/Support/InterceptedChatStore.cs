using System.Reflection;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Support;

/// <summary>
/// The chat store with one seam: for each call, the test's <c>intercept</c> may answer it itself (return the call's
/// result); a null answer passes the call to the real store unchanged. A <see cref="DispatchProxy"/>, so the port can
/// grow without the tests that use it following.
/// </summary>
public class InterceptedChatStore : DispatchProxy
{
    private IChatStore _inner = null!;
    private Func<MethodInfo, object?[], object?> _intercept = null!;

    public static IChatStore Over(IChatStore inner, Func<MethodInfo, object?[], object?> intercept)
    {
        var proxy = Create<IChatStore, InterceptedChatStore>();
        var self = (InterceptedChatStore)(object)proxy;
        (self._inner, self._intercept) = (inner, intercept);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        if (_intercept(method!, args ?? []) is { } answer) return answer;
        try
        {
            return method!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }
}
