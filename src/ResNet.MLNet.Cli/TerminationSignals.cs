using System.Runtime.InteropServices;

namespace ResNet.MLNet.Cli;

/// <summary>
/// Turns the first SIGINT (Ctrl+C) or SIGTERM into a cancellation request, so the running command stops between
/// batches, disposes what it holds and leaves only complete files; a second signal ends the process at once.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public TerminationSignals()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>The exit code of a run stopped by a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).</summary>
    public int CancelledExitCode => Volatile.Read(ref _received) == (int)PosixSignal.SIGTERM ? 143 : 130;

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.CompareExchange(ref _received, (int)context.Signal, 0) != 0) return;   // second signal: default action
        context.Cancel = true;
        _cancellation.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _cancellation.Dispose();
    }
}
