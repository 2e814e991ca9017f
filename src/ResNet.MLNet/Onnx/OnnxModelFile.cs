using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace ResNet.MLNet.Onnx;

/// <summary>A node of an ONNX graph as read from a file: operator, name, inputs, outputs and numeric attributes.</summary>
internal sealed record OnnxNode(string OpType, string Name, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, double[]> Attributes)
{
    /// <summary>The node as messages name it: its name, or its operator and first output when it has none.</summary>
    public string Description => Name.Length > 0 ? $"{OpType} node '{Name}'" : $"{OpType} node writing '{Outputs.FirstOrDefault()}'";

    /// <summary>An integer-list attribute (<c>kernel_shape</c>, <c>pads</c>, …), or <paramref name="fallback"/> when absent.</summary>
    public long[] Ints(string name, params long[] fallback) =>
        Attributes.TryGetValue(name, out var values) ? values.Select(v => (long)v).ToArray() : fallback;

    /// <summary>A float attribute (<c>epsilon</c>), or <paramref name="fallback"/> when absent.</summary>
    public double Float(string name, double fallback) => Attributes.TryGetValue(name, out var values) && values.Length == 1 ? values[0] : fallback;
}

/// <summary>A float tensor stored in an ONNX graph (a weight).</summary>
internal sealed record OnnxInitializer(string Name, long[] Dims, float[] Values);

/// <summary>
/// The parts of an ONNX model a network's weights are read from: the main graph's nodes in file order, its float
/// initializers by name, and its input and output names. A reader of the protobuf wire format for the fields it needs;
/// tensors kept in external files are refused.
/// </summary>
internal sealed class OnnxModelFile
{
    private OnnxModelFile(string producer, List<OnnxNode> nodes, Dictionary<string, OnnxInitializer> initializers,
        List<string> inputs, List<string> outputs)
    {
        Producer = producer;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs.Where(i => !initializers.ContainsKey(i)).ToList();
        Outputs = outputs;
    }

    /// <summary>The tool that wrote the model (<c>producer_name</c>).</summary>
    public string Producer { get; }

    /// <summary>The main graph's nodes, in file order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The main graph's float initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxInitializer> Initializers { get; }

    /// <summary>The graph's inputs that are not initializers.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>The graph's outputs.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Reads the ONNX model at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not an ONNX model this reader understands; the message says why.</exception>
    public static OnnxModelFile Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Parse(bytes);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException or DecoderFallbackException)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: its protobuf encoding is damaged or truncated.", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model this library can read: {e.Message}", e);
        }
    }

    private static OnnxModelFile Parse(ReadOnlyMemory<byte> model)
    {
        string producer = "";
        ReadOnlyMemory<byte>? graph = null;
        var reader = new ProtoReader(model);
        while (reader.Next(out int field, out int wire))
        {
            if (field == 2 && wire == ProtoReader.LengthDelimited) producer = reader.String();
            else if (field == 7 && wire == ProtoReader.LengthDelimited) graph = reader.Bytes();
            else reader.Skip(wire);
        }
        if (graph is not { } g) throw new InvalidDataException("it has no graph");

        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxInitializer>(StringComparer.Ordinal);
        List<string> inputs = [], outputs = [];
        reader = new ProtoReader(g);
        while (reader.Next(out int field, out int wire))
        {
            if (wire != ProtoReader.LengthDelimited) { reader.Skip(wire); continue; }
            switch (field)
            {
                case 1: nodes.Add(ReadNode(reader.Bytes())); break;
                case 5:
                    if (ReadInitializer(reader.Bytes()) is { } tensor) initializers[tensor.Name] = tensor;
                    break;
                case 11: inputs.Add(ReadValueInfoName(reader.Bytes())); break;
                case 12: outputs.Add(ReadValueInfoName(reader.Bytes())); break;
                default: reader.Skip(wire); break;
            }
        }
        return new OnnxModelFile(producer, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode ReadNode(ReadOnlyMemory<byte> bytes)
    {
        List<string> inputs = [], outputs = [];
        string name = "", opType = "";
        var attributes = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var reader = new ProtoReader(bytes);
        while (reader.Next(out int field, out int wire))
        {
            if (wire != ProtoReader.LengthDelimited) { reader.Skip(wire); continue; }
            switch (field)
            {
                case 1: inputs.Add(reader.String()); break;
                case 2: outputs.Add(reader.String()); break;
                case 3: name = reader.String(); break;
                case 4: opType = reader.String(); break;
                case 5:
                    var (attribute, values) = ReadAttribute(reader.Bytes());
                    if (values is not null) attributes[attribute] = values;
                    break;
                default: reader.Skip(wire); break;
            }
        }
        return new OnnxNode(opType, name, inputs, outputs, attributes);
    }

    /// <summary>An attribute's name and its numeric value(s) (<c>f</c>, <c>i</c>, <c>floats</c>, <c>ints</c>); null for other kinds.</summary>
    private static (string Name, double[]? Values) ReadAttribute(ReadOnlyMemory<byte> bytes)
    {
        string name = "";
        var values = new List<double>();
        bool numeric = false;
        var reader = new ProtoReader(bytes);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.LengthDelimited): name = reader.String(); break;
                case (2, ProtoReader.Fixed32): values.Add(reader.Float()); numeric = true; break;
                case (3, ProtoReader.VarintWire): values.Add((long)reader.Varint()); numeric = true; break;
                case (7, ProtoReader.Fixed32): values.Add(reader.Float()); numeric = true; break;
                case (7, ProtoReader.LengthDelimited):
                    var floats = new ProtoReader(reader.Bytes());
                    while (!floats.AtEnd) values.Add(floats.Float());
                    numeric = true;
                    break;
                case (8, ProtoReader.VarintWire): values.Add((long)reader.Varint()); numeric = true; break;
                case (8, ProtoReader.LengthDelimited):
                    var ints = new ProtoReader(reader.Bytes());
                    while (!ints.AtEnd) values.Add((long)ints.Varint());
                    numeric = true;
                    break;
                default: reader.Skip(wire); break;
            }
        }
        return (name, numeric ? values.ToArray() : null);
    }

    /// <summary>A float initializer; null for tensors of other element types (a weights reader needs floats only).</summary>
    private static OnnxInitializer? ReadInitializer(ReadOnlyMemory<byte> bytes)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        ReadOnlyMemory<byte>? raw = null;
        var floats = new List<float>();
        bool external = false;
        var reader = new ProtoReader(bytes);
        while (reader.Next(out int field, out int wire))
        {
            switch (field, wire)
            {
                case (1, ProtoReader.VarintWire): dims.Add((long)reader.Varint()); break;
                case (1, ProtoReader.LengthDelimited):
                    var packedDims = new ProtoReader(reader.Bytes());
                    while (!packedDims.AtEnd) dims.Add((long)packedDims.Varint());
                    break;
                case (2, ProtoReader.VarintWire): dataType = (int)reader.Varint(); break;
                case (4, ProtoReader.Fixed32): floats.Add(reader.Float()); break;
                case (4, ProtoReader.LengthDelimited): floats.AddRange(LittleEndianFloats(reader.Bytes().Span, name, "float_data")); break;
                case (8, ProtoReader.LengthDelimited): name = reader.String(); break;
                case (9, ProtoReader.LengthDelimited): raw = reader.Bytes(); break;
                case (13, ProtoReader.LengthDelimited): external = true; reader.Skip(wire); break;
                default: reader.Skip(wire); break;
            }
        }
        if (dataType != (int)OnnxElementType.Float) return null;
        if (external) throw new InvalidDataException($"initializer '{name}' keeps its data in an external file");
        float[] values = raw is { } r ? LittleEndianFloats(r.Span, name, "raw_data") : floats.ToArray();
        long count = dims.Aggregate(1L, (a, d) => checked(a * d));
        if (count != values.Length)
            throw new InvalidDataException($"initializer '{name}' has dims [{string.Join(", ", dims)}] but {values.Length} values");
        return new OnnxInitializer(name, dims.ToArray(), values);
    }

    private static float[] LittleEndianFloats(ReadOnlySpan<byte> bytes, string tensor, string field)
    {
        if (bytes.Length % 4 != 0) throw new InvalidDataException($"initializer '{tensor}' has {field} of {bytes.Length} bytes, not a whole number of floats");
        var values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
        return values;
    }

    private static string ReadValueInfoName(ReadOnlyMemory<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        while (reader.Next(out int field, out int wire))
        {
            if (field == 1 && wire == ProtoReader.LengthDelimited) return reader.String();
            reader.Skip(wire);
        }
        return "";
    }

    /// <summary>Reads protobuf fields from a buffer: tags, varints, fixed-size values and length-delimited slices.</summary>
    private struct ProtoReader(ReadOnlyMemory<byte> buffer)
    {
        public const int VarintWire = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;
        private int _position;

        public readonly bool AtEnd => _position >= buffer.Length;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (AtEnd) return false;
            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field == 0) throw new InvalidDataException("a protobuf field number is 0");
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                byte b = buffer.Span[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return value;
            }
            throw new InvalidDataException("a protobuf varint is longer than 10 bytes");
        }

        public float Float()
        {
            float value = BinaryPrimitives.ReadSingleLittleEndian(buffer.Span[_position..]);
            _position += 4;
            return value;
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            int length = checked((int)Varint());
            var slice = buffer.Slice(_position, length);
            _position += length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes().Span);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case VarintWire: Varint(); break;
                case Fixed64: _position = checked(_position + 8); break;
                case LengthDelimited: Bytes(); break;
                case Fixed32: _position = checked(_position + 4); break;
                default: throw new InvalidDataException($"unknown protobuf wire type {wire}");
            }
            if (_position > buffer.Length) throw new InvalidDataException("a protobuf field runs past the end of its message");
        }
    }
}
