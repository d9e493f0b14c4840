using System.Reflection;
using AspireChat.Messaging.Storage;

namespace AspireChat.Tests.Support;

/// <summary>
/// A store port with one seam: for each call, the test's <c>intercept</c> may answer it itself (return the call's
/// result); a null answer passes the call to the real store unchanged. A <see cref="DispatchProxy"/>, so the port can
/// grow without the tests that use it following.
/// </summary>
public class InterceptedChatStore : DispatchProxy
{
    private object _inner = null!;
    private Func<MethodInfo, object?[], object?> _intercept = null!;

    public static T Over<T>(T inner, Func<MethodInfo, object?[], object?> intercept) where T : class
    {
        var proxy = Create<T, InterceptedChatStore>();
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
