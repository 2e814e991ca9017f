namespace ResNet.MLNet.Onnx;

/// <summary>A network holds a module that has no ONNX form: neither one of this library's modules nor a supported TorchSharp module.</summary>
internal sealed class UnexportableModuleException(string modulePath, Type moduleType)
    : NotSupportedException($"ONNX export does not support module '{modulePath}' of type {moduleType.FullName}. " +
        $"Supported: {OnnxNetworkContext.SupportedModules}.")
{
    /// <summary>The module's path in the network, e.g. <c>body.2.act</c>.</summary>
    public string ModulePath { get; } = modulePath;

    /// <summary>The module's type.</summary>
    public Type ModuleType { get; } = moduleType;
}
