using System.Diagnostics;
using ResNet.MLNet.IO;
using ResNet.MLNet.Tests.Data;

namespace ResNet.MLNet.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    [Fact]
    public void WriteReplacesTheFileAndLeavesNoTemporary()
    {
        string path = _temp.Combine("sub", "out.json");
        AtomicFile.WriteAllText(path, "first");
        AtomicFile.WriteAllText(path, "second");

        Assert.Equal("second", File.ReadAllText(path));
        Assert.Equal(["out.json"], Directory.GetFileSystemEntries(_temp.Combine("sub")).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailingWriterLeavesTheOldFileAndNoTemporary()
    {
        string path = _temp.Combine("model.zip");
        File.WriteAllText(path, "old");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half of the new"u8);
            throw new InvalidOperationException("crash while writing");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void CancellationBeforeTheRenameKeepsTheOldFile()
    {
        string path = _temp.Combine("history.csv");
        File.WriteAllText(path, "old");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.WriteAllText(path, "new", cancelled.Token));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_temp.Path));
    }

    [Fact]
    public void DeleteStaleRemovesOnlyTemporariesOfProcessesThatAreGone()
    {
        int gone = ExitedProcessId();
        string stale = _temp.Combine($".model.zip.{gone}-0badf00d.tmp");
        string staleFolder = _temp.Combine($".staging.{gone}-0000beef.tmp");
        string ours = AtomicFile.TemporaryPathFor(_temp.Combine("loss.png"));
        string unrelated = _temp.Combine(".notes.tmp");
        File.WriteAllText(stale, "partial");
        Directory.CreateDirectory(staleFolder);
        File.WriteAllText(Path.Combine(staleFolder, "a.jpg"), "partial");
        File.WriteAllText(ours, "in progress");
        File.WriteAllText(unrelated, "not ours");

        Assert.Equal(2, AtomicFile.DeleteStale(_temp.Path));

        Assert.False(File.Exists(stale));
        Assert.False(Directory.Exists(staleFolder));
        Assert.True(File.Exists(ours), "a temporary of a running process must stay");
        Assert.True(File.Exists(unrelated));
    }

    /// <summary>The pid of a process that has already exited (and so cannot own anything).</summary>
    internal static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }

    public void Dispose() => _temp.Dispose();
}
