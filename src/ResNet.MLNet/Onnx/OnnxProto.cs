using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;

namespace ResNet.MLNet.Onnx;

// The ONNX messages this library writes, serialised by hand with Google.Protobuf's CodedOutputStream.
// Field numbers and wire types follow the public ONNX specification (onnx/onnx.proto, proto2 syntax):
// repeated scalars are unpacked except TensorProto's float_data/int64_data, which the spec declares packed.
// Each message computes its size first so nested messages are written in one pass without copies.

/// <summary>A protobuf message that can measure and write itself.</summary>
internal abstract class OnnxMessage
{
    /// <summary>Encoded size in bytes (without tag and length prefix).</summary>
    public abstract int CalculateSize();

    /// <summary>Writes the message's fields.</summary>
    public abstract void WriteTo(CodedOutputStream output);

    /// <summary>Serialises the message to a new array.</summary>
    public byte[] ToByteArray()
    {
        int size;
        try
        {
            size = CalculateSize();
        }
        catch (OverflowException e)
        {
            throw new InvalidOperationException(
                "The ONNX model is larger than 2 GB, the protobuf limit; this exporter does not write external tensor data.", e);
        }
        var bytes = new byte[size];
        var output = new CodedOutputStream(bytes);
        WriteTo(output);
        output.CheckNoSpaceLeft();
        return bytes;
    }
}

/// <summary>Size and write helpers for the protobuf wire format.</summary>
internal static class ProtoWire
{
    public static int TagSize(int field) => CodedOutputStream.ComputeTagSize(field);

    public static int StringSize(int field, string value) =>
        value.Length == 0 ? 0 : checked(TagSize(field) + CodedOutputStream.ComputeStringSize(value));

    public static int BytesSize(int field, ReadOnlySpan<byte> value) =>
        checked(TagSize(field) + CodedOutputStream.ComputeLengthSize(value.Length) + value.Length);

    public static int Int64Size(int field, long value) => TagSize(field) + CodedOutputStream.ComputeInt64Size(value);

    public static int MessageSize(int field, OnnxMessage message)
    {
        int size = message.CalculateSize();
        return checked(TagSize(field) + CodedOutputStream.ComputeLengthSize(size) + size);
    }

    public static int MessagesSize<T>(int field, IReadOnlyList<T> messages) where T : OnnxMessage
    {
        int total = 0;
        foreach (var m in messages) total = checked(total + MessageSize(field, m));
        return total;
    }

    public static void WriteString(CodedOutputStream output, int field, string value)
    {
        if (value.Length == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    public static void WriteBytes(CodedOutputStream output, int field, ReadOnlyMemory<byte> value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
    }

    public static void WriteInt64(CodedOutputStream output, int field, long value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    }

    public static void WriteMessage(CodedOutputStream output, int field, OnnxMessage message)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(message.CalculateSize());
        message.WriteTo(output);
    }

    public static void WriteMessages<T>(CodedOutputStream output, int field, IReadOnlyList<T> messages) where T : OnnxMessage
    {
        foreach (var m in messages) WriteMessage(output, field, m);
    }
}

/// <summary><c>OperatorSetIdProto</c>: domain = 1, version = 2.</summary>
internal sealed class OperatorSetIdProto(string domain, long version) : OnnxMessage
{
    public string Domain { get; } = domain;
    public long Version { get; } = version;

    public override int CalculateSize() => ProtoWire.StringSize(1, Domain) + ProtoWire.Int64Size(2, Version);

    public override void WriteTo(CodedOutputStream output)
    {
        ProtoWire.WriteString(output, 1, Domain);
        ProtoWire.WriteInt64(output, 2, Version);
    }
}

/// <summary>
/// <c>TensorProto</c>: dims = 1, data_type = 2, string_data = 6, int64_data = 7 (packed), name = 8, raw_data = 9.
/// Floats are stored little-endian in raw_data, int64 values in int64_data, strings in string_data.
/// </summary>
internal sealed class TensorProto : OnnxMessage
{
    private TensorProto(string name, OnnxElementType type, long[] dims)
    {
        Name = name;
        ElementType = type;
        Dims = dims;
    }

    public string Name { get; }
    public OnnxElementType ElementType { get; }
    public long[] Dims { get; }
    public byte[]? RawData { get; private init; }
    public long[]? Int64Data { get; private init; }
    public byte[][]? StringData { get; private init; }

    public static TensorProto FromFloats(string name, ReadOnlySpan<float> values, long[] dims)
    {
        CheckCount(name, values.Length, dims);
        var raw = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEach4(raw);
        return new TensorProto(name, OnnxElementType.Float, dims) { RawData = raw };
    }

    public static TensorProto FromInt64s(string name, ReadOnlySpan<long> values, long[] dims)
    {
        CheckCount(name, values.Length, dims);
        return new TensorProto(name, OnnxElementType.Int64, dims) { Int64Data = values.ToArray() };
    }

    public static TensorProto FromStrings(string name, IReadOnlyList<string> values, long[] dims)
    {
        CheckCount(name, values.Count, dims);
        return new TensorProto(name, OnnxElementType.String, dims) { StringData = values.Select(Encoding.UTF8.GetBytes).ToArray() };
    }

    private static void CheckCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new ArgumentException($"Tensor '{name}' has a negative dimension in [{string.Join(", ", dims)}].", nameof(dims));
            expected = checked(expected * d);
        }
        if (expected != count)
            throw new ArgumentException(
                $"Tensor '{name}' has {count} values but its shape [{string.Join(", ", dims)}] holds {expected}.", nameof(dims));
    }

    private static void ReverseEach4(byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i += 4) Array.Reverse(bytes, i, 4);
    }

    public override int CalculateSize()
    {
        int size = 0;
        checked
        {
            foreach (var d in Dims) size += ProtoWire.Int64Size(1, d);
            size += ProtoWire.Int64Size(2, (long)ElementType);
            if (StringData is not null)
                foreach (var s in StringData) size += ProtoWire.BytesSize(6, s);
            if (Int64Data is { Length: > 0 })
            {
                int payload = PackedInt64Size(Int64Data);
                size += ProtoWire.TagSize(7) + CodedOutputStream.ComputeLengthSize(payload) + payload;
            }
            size += ProtoWire.StringSize(8, Name);
            if (RawData is not null) size += ProtoWire.BytesSize(9, RawData);
        }
        return size;
    }

    private static int PackedInt64Size(long[] values)
    {
        int size = 0;
        foreach (var v in values) size = checked(size + CodedOutputStream.ComputeInt64Size(v));
        return size;
    }

    public override void WriteTo(CodedOutputStream output)
    {
        foreach (var d in Dims) ProtoWire.WriteInt64(output, 1, d);
        ProtoWire.WriteInt64(output, 2, (long)ElementType);
        if (StringData is not null)
            foreach (var s in StringData) ProtoWire.WriteBytes(output, 6, s);
        if (Int64Data is { Length: > 0 })
        {
            output.WriteTag(7, WireFormat.WireType.LengthDelimited);
            output.WriteLength(PackedInt64Size(Int64Data));
            foreach (var v in Int64Data) output.WriteInt64(v);
        }
        ProtoWire.WriteString(output, 8, Name);
        if (RawData is not null) ProtoWire.WriteBytes(output, 9, RawData);
    }
}

/// <summary>
/// <c>ValueInfoProto</c> (name = 1, type = 2) of a tensor: <c>TypeProto</c>.tensor_type = 1 →
/// <c>TypeProto.Tensor</c> (elem_type = 1, shape = 2) → <c>TensorShapeProto</c>.dim = 1 →
/// <c>Dimension</c> (dim_value = 1 or dim_param = 2).
/// </summary>
internal sealed class ValueInfoProto(string name, OnnxElementType elementType, IReadOnlyList<OnnxDim> dims) : OnnxMessage
{
    public string Name { get; } = name;
    public OnnxElementType ElementType { get; } = elementType;
    public IReadOnlyList<OnnxDim> Dims { get; } = dims;

    private int DimensionSize(OnnxDim dim) =>
        dim.Symbol is { } symbol ? ProtoWire.StringSize(2, symbol) : ProtoWire.Int64Size(1, dim.Size!.Value);

    private int ShapeSize()
    {
        int size = 0;
        foreach (var d in Dims)
        {
            int dimSize = DimensionSize(d);
            size += ProtoWire.TagSize(1) + CodedOutputStream.ComputeLengthSize(dimSize) + dimSize;
        }
        return size;
    }

    private int TensorTypeSize()
    {
        int shape = ShapeSize();
        return ProtoWire.Int64Size(1, (long)ElementType) + ProtoWire.TagSize(2) + CodedOutputStream.ComputeLengthSize(shape) + shape;
    }

    private int TypeSize()
    {
        int tensor = TensorTypeSize();
        return ProtoWire.TagSize(1) + CodedOutputStream.ComputeLengthSize(tensor) + tensor;
    }

    public override int CalculateSize()
    {
        int type = TypeSize();
        return ProtoWire.StringSize(1, Name) + ProtoWire.TagSize(2) + CodedOutputStream.ComputeLengthSize(type) + type;
    }

    public override void WriteTo(CodedOutputStream output)
    {
        ProtoWire.WriteString(output, 1, Name);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);       // type: TypeProto
        output.WriteLength(TypeSize());
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);       // tensor_type: TypeProto.Tensor
        output.WriteLength(TensorTypeSize());
        ProtoWire.WriteInt64(output, 1, (long)ElementType);            // elem_type
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);       // shape: TensorShapeProto
        output.WriteLength(ShapeSize());
        foreach (var d in Dims)
        {
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);   // dim: Dimension
            output.WriteLength(DimensionSize(d));
            if (d.Symbol is { } symbol) ProtoWire.WriteString(output, 2, symbol);
            else ProtoWire.WriteInt64(output, 1, d.Size!.Value);
        }
    }
}

/// <summary>
/// <c>AttributeProto</c>: name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8, strings = 9, type = 20
/// (AttributeType FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, FLOATS = 6, INTS = 7, STRINGS = 8).
/// </summary>
internal sealed class AttributeProto(string name, int type) : OnnxMessage
{
    public const int FloatType = 1, IntType = 2, StringType = 3, TensorType = 4, FloatsType = 6, IntsType = 7, StringsType = 8;

    public string Name { get; } = name;
    public int Type { get; } = type;
    public float F { get; init; }
    public long I { get; init; }
    public byte[]? S { get; init; }
    public TensorProto? T { get; init; }
    public float[]? Floats { get; init; }
    public long[]? Ints { get; init; }
    public byte[][]? Strings { get; init; }

    public override int CalculateSize()
    {
        checked
        {
            int size = ProtoWire.StringSize(1, Name);
            switch (Type)
            {
                case FloatType: size += ProtoWire.TagSize(2) + 4; break;
                case IntType: size += ProtoWire.Int64Size(3, I); break;
                case StringType: size += ProtoWire.BytesSize(4, S!); break;
                case TensorType: size += ProtoWire.MessageSize(5, T!); break;
                case FloatsType: size += Floats!.Length * (ProtoWire.TagSize(7) + 4); break;
                case IntsType: foreach (var v in Ints!) size += ProtoWire.Int64Size(8, v); break;
                case StringsType: foreach (var s in Strings!) size += ProtoWire.BytesSize(9, s); break;
            }
            return size + ProtoWire.Int64Size(20, Type);
        }
    }

    public override void WriteTo(CodedOutputStream output)
    {
        ProtoWire.WriteString(output, 1, Name);
        switch (Type)
        {
            case FloatType:
                output.WriteTag(2, WireFormat.WireType.Fixed32);
                output.WriteFloat(F);
                break;
            case IntType: ProtoWire.WriteInt64(output, 3, I); break;
            case StringType: ProtoWire.WriteBytes(output, 4, S!); break;
            case TensorType: ProtoWire.WriteMessage(output, 5, T!); break;
            case FloatsType:
                foreach (var v in Floats!)
                {
                    output.WriteTag(7, WireFormat.WireType.Fixed32);
                    output.WriteFloat(v);
                }
                break;
            case IntsType: foreach (var v in Ints!) ProtoWire.WriteInt64(output, 8, v); break;
            case StringsType: foreach (var s in Strings!) ProtoWire.WriteBytes(output, 9, s); break;
        }
        ProtoWire.WriteInt64(output, 20, Type);
    }
}

/// <summary><c>NodeProto</c>: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.</summary>
internal sealed class NodeProto(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
    IReadOnlyList<AttributeProto> attributes, string name, string domain) : OnnxMessage
{
    public string OpType { get; } = opType;
    public IReadOnlyList<string> Inputs { get; } = inputs;
    public IReadOnlyList<string> Outputs { get; } = outputs;
    public IReadOnlyList<AttributeProto> Attributes { get; } = attributes;
    public string Name { get; } = name;
    public string Domain { get; } = domain;

    // Repeated strings are written even when empty: an empty input name marks an omitted optional input.
    private static int RepeatedStringSize(int field, IReadOnlyList<string> values)
    {
        int size = 0;
        foreach (var v in values) size = checked(size + ProtoWire.TagSize(field) + CodedOutputStream.ComputeStringSize(v));
        return size;
    }

    private static void WriteRepeatedString(CodedOutputStream output, int field, IReadOnlyList<string> values)
    {
        foreach (var v in values)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteString(v);
        }
    }

    public override int CalculateSize() => checked(
        RepeatedStringSize(1, Inputs) + RepeatedStringSize(2, Outputs) + ProtoWire.StringSize(3, Name)
        + ProtoWire.StringSize(4, OpType) + ProtoWire.MessagesSize(5, Attributes) + ProtoWire.StringSize(7, Domain));

    public override void WriteTo(CodedOutputStream output)
    {
        WriteRepeatedString(output, 1, Inputs);
        WriteRepeatedString(output, 2, Outputs);
        ProtoWire.WriteString(output, 3, Name);
        ProtoWire.WriteString(output, 4, OpType);
        ProtoWire.WriteMessages(output, 5, Attributes);
        ProtoWire.WriteString(output, 7, Domain);
    }
}

/// <summary><c>GraphProto</c>: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12.</summary>
internal sealed class GraphProto(string name, IReadOnlyList<NodeProto> nodes, IReadOnlyList<TensorProto> initializers,
    IReadOnlyList<ValueInfoProto> inputs, IReadOnlyList<ValueInfoProto> outputs, string docString) : OnnxMessage
{
    public override int CalculateSize() => checked(
        ProtoWire.MessagesSize(1, nodes) + ProtoWire.StringSize(2, name) + ProtoWire.MessagesSize(5, initializers)
        + ProtoWire.StringSize(10, docString) + ProtoWire.MessagesSize(11, inputs) + ProtoWire.MessagesSize(12, outputs));

    public override void WriteTo(CodedOutputStream output)
    {
        ProtoWire.WriteMessages(output, 1, nodes);
        ProtoWire.WriteString(output, 2, name);
        ProtoWire.WriteMessages(output, 5, initializers);
        ProtoWire.WriteString(output, 10, docString);
        ProtoWire.WriteMessages(output, 11, inputs);
        ProtoWire.WriteMessages(output, 12, outputs);
    }
}

/// <summary>
/// <c>ModelProto</c>: ir_version = 1, producer_name = 2, producer_version = 3, domain = 4, model_version = 5,
/// doc_string = 6, graph = 7, opset_import = 8.
/// </summary>
internal sealed class ModelProto(long irVersion, IReadOnlyList<OperatorSetIdProto> opsets, string producerName,
    string producerVersion, GraphProto graph) : OnnxMessage
{
    public override int CalculateSize() => checked(
        ProtoWire.Int64Size(1, irVersion) + ProtoWire.StringSize(2, producerName) + ProtoWire.StringSize(3, producerVersion)
        + ProtoWire.MessageSize(7, graph) + ProtoWire.MessagesSize(8, opsets));

    public override void WriteTo(CodedOutputStream output)
    {
        ProtoWire.WriteInt64(output, 1, irVersion);
        ProtoWire.WriteString(output, 2, producerName);
        ProtoWire.WriteString(output, 3, producerVersion);
        ProtoWire.WriteMessage(output, 7, graph);
        ProtoWire.WriteMessages(output, 8, opsets);
    }
}
