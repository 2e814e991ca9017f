using ResNet.MLNet.Cli.Serving;

namespace ResNet.MLNet.Tests.Serving;

public class DecodeGateTests
{
    [Fact]
    public async Task BeyondTheTurnsRequestsQueueAndBeyondTheQueueTheyAreTurnedAway()
    {
        using var gate = new DecodeGate(concurrent: 1, queued: 1);

        var first = await gate.EnterAsync(CancellationToken.None);
        var second = gate.EnterAsync(CancellationToken.None);
        var third = await gate.EnterAsync(CancellationToken.None);

        Assert.NotNull(first);
        Assert.False(second.IsCompleted);   // queued behind the first
        Assert.Null(third);                 // no turn and no queue place left
        first!.Dispose();
        using (var turn = await second) Assert.NotNull(turn);
        Assert.Equal(0, gate.Admitted);
        using var fourth = await gate.EnterAsync(CancellationToken.None);
        Assert.NotNull(fourth);
    }

    [Fact]
    public async Task AWaitingRequestThatIsAbortedGivesUpItsQueuePlace()
    {
        using var gate = new DecodeGate(concurrent: 1, queued: 1);
        using var first = await gate.EnterAsync(CancellationToken.None);
        using var abort = new CancellationTokenSource();

        var waiting = gate.EnterAsync(abort.Token);
        abort.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, gate.Admitted);
    }
}
