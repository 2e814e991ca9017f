namespace ResNet.MLNet.Onnx;

/// <summary>A value of the network graph being written: its name and per-sample shape (batch excluded, −1 for a size only known at run time).</summary>
internal readonly record struct OnnxValue(string Name, long[] Shape);
