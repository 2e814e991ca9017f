using System.Text;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// A named attribute of an ONNX node (e.g. <c>kernel_shape</c>, <c>axis</c>, <c>mode</c>). Create one with the
/// typed factories: <c>OnnxAttribute.Ints("strides", 2, 2)</c>, <c>OnnxAttribute.Int("axis", 1)</c>.
/// </summary>
internal sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    internal AttributeProto Proto { get; }

    /// <summary>The attribute's name.</summary>
    public string Name => Proto.Name;

    /// <summary>A float attribute.</summary>
    public static OnnxAttribute Float(string name, float value) =>
        new(new AttributeProto(CheckName(name), AttributeProto.FloatType) { F = value });

    /// <summary>An integer attribute.</summary>
    public static OnnxAttribute Int(string name, long value) =>
        new(new AttributeProto(CheckName(name), AttributeProto.IntType) { I = value });

    /// <summary>A string attribute (UTF-8).</summary>
    public static OnnxAttribute String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(new AttributeProto(CheckName(name), AttributeProto.StringType) { S = Encoding.UTF8.GetBytes(value) });
    }

    /// <summary>A list-of-floats attribute.</summary>
    public static OnnxAttribute Floats(string name, params float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(new AttributeProto(CheckName(name), AttributeProto.FloatsType) { Floats = (float[])values.Clone() });
    }

    /// <summary>A list-of-integers attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(new AttributeProto(CheckName(name), AttributeProto.IntsType) { Ints = (long[])values.Clone() });
    }

    /// <summary>A list-of-strings attribute (UTF-8), e.g. <c>keys_strings</c> of <c>ai.onnx.ml.LabelEncoder</c>.</summary>
    public static OnnxAttribute Strings(string name, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(new AttributeProto(CheckName(name), AttributeProto.StringsType)
        {
            Strings = values.Select(v => Encoding.UTF8.GetBytes(v ?? throw new ArgumentException($"Attribute '{name}' contains a null string.", nameof(values)))).ToArray(),
        });
    }

    /// <summary>A float tensor attribute (e.g. the <c>value</c> of a <c>Constant</c> node).</summary>
    public static OnnxAttribute Tensor(string name, float[] values, params long[] dims) =>
        new(new AttributeProto(CheckName(name), AttributeProto.TensorType) { T = TensorProto.FromFloats(name, values, dims) });

    /// <summary>An int64 tensor attribute (e.g. the <c>value</c> of a <c>Constant</c> node).</summary>
    public static OnnxAttribute Tensor(string name, long[] values, params long[] dims) =>
        new(new AttributeProto(CheckName(name), AttributeProto.TensorType) { T = TensorProto.FromInt64s(name, values, dims) });

    private static string CheckName(string name) =>
        string.IsNullOrWhiteSpace(name) ? throw new ArgumentException("An ONNX attribute needs a name.", nameof(name)) : name;

    /// <inheritdoc/>
    public override string ToString() => Name;
}
