using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace ResNet.MLNet.Tests.Cli;

/// <summary>
/// The built <c>resnet-mlnet</c> run as a child process in its own process group (through <c>setsid</c>), as a shell
/// runs a foreground job, so tests can send it real SIGINT/SIGTERM signals and read its exit code and output. The child
/// starts with the default disposition of SIGINT, SIGQUIT and SIGTERM (coreutils' <c>env --default-signal</c>) however
/// the test run was launched: a non-interactive shell starts background jobs with SIGINT and SIGQUIT ignored, and an
/// ignored signal stays ignored across exec.
/// </summary>
internal sealed class CliProcess : IDisposable
{
    public const int SigInt = 2;
    public const int SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _awaited = [];

    private CliProcess(Process process) => _process = process;

    /// <summary>Starts <c>resnet-mlnet <paramref name="args"/></c> with extra environment variables.</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Start(environment, [], args);

    /// <summary>
    /// Starts <c>resnet-mlnet <paramref name="args"/></c> through <paramref name="launcher"/> (a command that ends by
    /// running its arguments, e.g. a shell that ignores SIGINT first, as a background job of a script would).
    /// </summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> launcher, params string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "resnet-mlnet.dll");
        var start = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : "setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string part in launcher.Skip(1)) start.ArgumentList.Add(part);
        if (launcher.Count > 0) start.ArgumentList.Add("setsid");
        start.ArgumentList.Add("env");
        start.ArgumentList.Add("--default-signal=INT,QUIT,TERM");
        start.ArgumentList.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet");
        start.ArgumentList.Add(cli);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        var cliProcess = new CliProcess(process);
        process.OutputDataReceived += (_, e) => cliProcess.Append(cliProcess._output, e.Data);
        process.ErrorDataReceived += (_, e) => cliProcess.Append(cliProcess._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cliProcess;
    }

    /// <summary>The child's process id (also its process group id).</summary>
    public int Id => _process.Id;

    public string Output { get { lock (_output) return _output.ToString(); } }
    public string Error { get { lock (_output) return _error.ToString(); } }

    /// <summary>Completes when standard error or output has shown a line containing <paramref name="text"/>.</summary>
    public Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal) || _error.ToString().Contains(text, StringComparison.Ordinal)) seen.SetResult();
            else _awaited.Add((text, seen));
        }
        return seen.Task.WaitAsync(timeout);
    }

    /// <summary>Sends <paramref name="signal"/> to the child's whole process group.</summary>
    public void Signal(int signal)
    {
        if (Kill(-_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill(-{_process.Id}, {signal}) failed: errno {Marshal.GetLastWin32Error()}");
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit();   // drains the redirected streams
        return _process.ExitCode;
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            target.AppendLine(line);
            foreach (var (text, seen) in _awaited.Where(a => line.Contains(a.Text, StringComparison.Ordinal)).ToList())
            {
                seen.TrySetResult();
                _awaited.RemoveAll(a => a.Seen == seen);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill(-_process.Id, 9);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
