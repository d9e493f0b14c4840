namespace AspireChat.Tests.Support;

/// <summary>
/// A program the tests start is not on this machine. Its message is one line saying what to install, so a test that
/// needs the program fails at once and says why, rather than timing out.
/// </summary>
public sealed class MissingPrerequisiteException(string message) : Exception(message);
