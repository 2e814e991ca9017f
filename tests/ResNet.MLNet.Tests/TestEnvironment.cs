using System.Runtime.CompilerServices;
using ResNet.MLNet.Runtime;
using ResNet.MLNet.Training;

namespace ResNet.MLNet.Tests;

internal static class TestEnvironment
{
    /// <summary>Step-trial decisions of the test run go to a file of its own, never the user's (child CLI processes inherit it).</summary>
    [ModuleInitializer]
    internal static void IsolateStepTrialRecords()
    {
        if (Environment.GetEnvironmentVariable(StepTrialRecords.EnvironmentVariable) is { Length: > 0 }) return;
        string path = Path.Combine(Path.GetTempPath(), $"resnet-mlnet-tests-{Environment.ProcessId}", "step-trials.json");
        Environment.SetEnvironmentVariable(StepTrialRecords.EnvironmentVariable, path);
    }
}
