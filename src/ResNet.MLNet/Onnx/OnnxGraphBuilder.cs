using ResNet.MLNet.IO;

namespace ResNet.MLNet.Onnx;

/// <summary>
/// Builds an ONNX model (one graph) node by node and serialises it to the ONNX protobuf format, ready for
/// ONNX Runtime or ML.NET's <c>ApplyOnnxModel</c>.
/// </summary>
/// <remarks>
/// <para>Targets the default ONNX operator set <see cref="DefaultOpset"/> (17, IR version 8), which ONNX Runtime
/// 1.31 runs; <see cref="ToModelBytes"/> accepts opsets 13–21 and writes the matching IR version. Operators and
/// attributes are written as given, so use their semantics at the chosen opset
/// (https://onnx.ai/onnx/operators/).</para>
/// <para>Nodes must be added in topological order (inputs before use). Names are checked as they are added
/// and the whole graph is checked when serialised, so mistakes surface as clear exceptions rather than
/// ONNX Runtime load errors.</para>
/// <example>
/// Per-channel normalisation of a [N,3,H,W] input:
/// <code>
/// var g = new OnnxGraphBuilder();
/// var x = g.AddInput("input", OnnxElementType.Float, "N", 3, 128, 128);
/// var mean = g.AddInitializer("mean", [0.485f, 0.456f, 0.406f], 1, 3, 1, 1);
/// var std = g.AddInitializer("std", [0.229f, 0.224f, 0.225f], 1, 3, 1, 1);
/// var y = g.AddNode("Div", [g.AddNode("Sub", [x, mean]), std]);
/// g.AddOutput(y, OnnxElementType.Float, "N", 3, 128, 128);
/// g.Save("normalise.onnx");
/// </code>
/// </example>
/// </remarks>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The default ONNX operator set version (<c>ai.onnx</c> domain) this library targets.</summary>
    public const long DefaultOpset = 17;

    /// <summary>The <c>ai.onnx.ml</c> operator set version matching <see cref="DefaultOpset"/> (ONNX 1.12).</summary>
    public const long DefaultMlOpset = 3;

    /// <summary>The operator domain of the classic machine-learning operators (e.g. <c>LabelEncoder</c>).</summary>
    public const string MlDomain = "ai.onnx.ml";

    private readonly List<ValueInfoProto> _inputs = [];
    private readonly List<ValueInfoProto> _outputs = [];
    private readonly List<TensorProto> _initializers = [];
    private readonly List<NodeProto> _nodes = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _extraOpsets = new(StringComparer.Ordinal);
    private int _counter;

    /// <summary>Creates an empty graph.</summary>
    /// <param name="graphName">The graph's name (stored in the model).</param>
    public OnnxGraphBuilder(string graphName = "resnet_mlnet")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(graphName);
        GraphName = graphName;
    }

    /// <summary>The graph's name.</summary>
    public string GraphName { get; }

    /// <summary>Free text stored as the graph's doc string.</summary>
    public string DocString { get; set; } = "";

    /// <summary>Number of nodes added so far.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>True when <paramref name="name"/> is already a graph input, initializer or node output.</summary>
    public bool Contains(string name) => _names.Contains(name);

    /// <summary>Returns a value name starting with <paramref name="prefix"/> that is not used yet.</summary>
    public string UniqueName(string prefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        string name;
        do name = $"{prefix}_{_counter++}";
        while (_names.Contains(name));
        return name;
    }

    /// <summary>Declares a graph input tensor.</summary>
    /// <param name="name">The input's name (what ONNX Runtime / ML.NET bind to).</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">Shape; each dimension fixed (e.g. <c>3</c>) or symbolic (e.g. <c>"N"</c>).</param>
    /// <returns><paramref name="name"/>.</returns>
    public string AddInput(string name, OnnxElementType elementType, params OnnxDim[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        Claim(name, "graph input");
        _inputs.Add(new ValueInfoProto(name, elementType, (OnnxDim[])dims.Clone()));
        return name;
    }

    /// <summary>Declares an existing value (graph input, initializer or node output) as a graph output.</summary>
    /// <param name="name">The value to expose.</param>
    /// <param name="elementType">Element type.</param>
    /// <param name="dims">Shape; each dimension fixed or symbolic.</param>
    /// <returns><paramref name="name"/>.</returns>
    public string AddOutput(string name, OnnxElementType elementType, params OnnxDim[] dims)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(dims);
        if (!_names.Contains(name))
            throw new ArgumentException($"Graph output '{name}' is not a graph input, initializer or node output.", nameof(name));
        if (_outputs.Any(o => o.Name == name))
            throw new ArgumentException($"'{name}' is already a graph output.", nameof(name));
        _outputs.Add(new ValueInfoProto(name, elementType, (OnnxDim[])dims.Clone()));
        return name;
    }

    /// <summary>Adds a constant float tensor (weights, biases, normalisation statistics).</summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="values">Values in row-major order.</param>
    /// <param name="dims">Shape; its product must equal the number of values (no dims = a scalar).</param>
    /// <returns><paramref name="name"/>.</returns>
    public string AddInitializer(string name, float[] values, params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(values);
        var tensor = TensorProto.FromFloats(name, values, (long[])dims.Clone());
        Claim(name, "initializer");
        _initializers.Add(tensor);
        return name;
    }

    /// <summary>
    /// Adds a constant int64 tensor (shapes, axes, indices). An integer literal array such as <c>[1, 2]</c> binds
    /// to this overload; write <c>[1f, 2f]</c> for float weights.
    /// </summary>
    /// <inheritdoc cref="AddInitializer(string, float[], long[])"/>
    public string AddInitializer(string name, long[] values, params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(values);
        var tensor = TensorProto.FromInt64s(name, values, (long[])dims.Clone());
        Claim(name, "initializer");
        _initializers.Add(tensor);
        return name;
    }

    /// <summary>Adds a constant string tensor (e.g. class names for a <c>Gather</c>).</summary>
    /// <inheritdoc cref="AddInitializer(string, float[], long[])"/>
    public string AddInitializer(string name, string[] values, params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Any(v => v is null)) throw new ArgumentException($"String initializer '{name}' contains a null value.", nameof(values));
        var tensor = TensorProto.FromStrings(name, values, (long[])dims.Clone());
        Claim(name, "initializer");
        _initializers.Add(tensor);
        return name;
    }

    /// <summary>Adds a single-output node of the default domain and returns its (generated) output name.</summary>
    /// <param name="opType">The operator, e.g. <c>"Conv"</c>.</param>
    /// <param name="inputs">Input value names in the operator's order; <c>""</c> skips an optional input.</param>
    /// <param name="attributes">The operator's attributes.</param>
    /// <returns>The name of the node's output.</returns>
    public string AddNode(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        string output = UniqueName(opType.ToLowerInvariant());
        AddNode(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node with explicitly named outputs.</summary>
    /// <param name="opType">The operator, e.g. <c>"MaxPool"</c>.</param>
    /// <param name="inputs">Input value names in the operator's order; <c>""</c> skips an optional input.</param>
    /// <param name="outputs">Names of the values the node produces (new names).</param>
    /// <param name="attributes">The operator's attributes.</param>
    /// <param name="nodeName">The node's name; generated when null. Node names must be unique.</param>
    /// <param name="domain">The operator's domain: <c>""</c> for <c>ai.onnx</c>, or e.g. <see cref="MlDomain"/>
    /// (register its version with <see cref="UseOperatorSet"/>).</param>
    /// <returns><paramref name="outputs"/>.</returns>
    public IReadOnlyList<string> AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IEnumerable<OnnxAttribute>? attributes = null, string? nodeName = null, string domain = "")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(domain);
        if (outputs.Count == 0) throw new ArgumentException($"Node '{opType}' needs at least one output.", nameof(outputs));
        var attributeList = (attributes ?? []).ToArray();
        var duplicate = attributeList.GroupBy(a => a.Name).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Node '{opType}' has attribute '{duplicate.Key}' more than once.", nameof(attributes));
        foreach (var input in inputs)
        {
            if (input is null) throw new ArgumentException($"Node '{opType}' has a null input name.", nameof(inputs));
            if (input.Length > 0 && !_names.Contains(input))
                throw new ArgumentException(
                    $"Node '{opType}' reads '{input}', which is not a graph input, initializer or earlier node output.", nameof(inputs));
        }
        if (domain.Length > 0 && !_extraOpsets.ContainsKey(domain))
            throw new ArgumentException($"Node '{opType}' uses domain '{domain}'; call UseOperatorSet(\"{domain}\", version) first.", nameof(domain));

        string name = nodeName ?? UniqueNodeName(opType);
        if (!_nodeNames.Add(name)) throw new ArgumentException($"A node named '{name}' already exists.", nameof(nodeName));
        foreach (var output in outputs) Claim(output, $"output of node '{name}'");
        _nodes.Add(new NodeProto(opType, inputs.ToArray(), outputs.ToArray(), attributeList.Select(a => a.Proto).ToArray(), name, domain));
        return outputs;
    }

    /// <summary>Imports an extra operator domain (e.g. <see cref="MlDomain"/>, version <see cref="DefaultMlOpset"/>).</summary>
    public void UseOperatorSet(string domain, long version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(domain);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        _extraOpsets[domain] = version;
    }

    /// <summary>Serialises the model (ONNX protobuf bytes).</summary>
    /// <param name="opset">The <c>ai.onnx</c> operator set version, 13–21; default <see cref="DefaultOpset"/>.</param>
    public byte[] ToModelBytes(long opset = DefaultOpset) => BuildModel(opset).ToByteArray();

    /// <summary>Writes the model to <paramref name="path"/> (via a temporary file, so a failure leaves no partial file).</summary>
    /// <param name="path">The <c>.onnx</c> file to write.</param>
    /// <param name="opset">The <c>ai.onnx</c> operator set version; default <see cref="DefaultOpset"/>.</param>
    public void Save(string path, long opset = DefaultOpset)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        AtomicFile.WriteAllBytes(path, ToModelBytes(opset));
    }

    /// <summary>The ONNX IR version that goes with an <c>ai.onnx</c> opset (from the ONNX versioning table).</summary>
    public static long IrVersionFor(long opset) => opset switch
    {
        13 or 14 => 7,
        >= 15 and <= 18 => 8,
        19 or 20 => 9,
        21 => 10,
        _ => throw new ArgumentOutOfRangeException(nameof(opset), opset, "Supported ai.onnx opsets are 13 to 21."),
    };

    private ModelProto BuildModel(long opset)
    {
        long irVersion = IrVersionFor(opset);
        if (_outputs.Count == 0) throw new InvalidOperationException($"Graph '{GraphName}' has no outputs; call AddOutput.");
        var opsets = new List<OperatorSetIdProto> { new("", opset) };
        opsets.AddRange(_extraOpsets.Select(p => new OperatorSetIdProto(p.Key, p.Value)));
        var graph = new GraphProto(GraphName, _nodes, _initializers, _inputs, _outputs, DocString);
        var version = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString(3) ?? "";
        return new ModelProto(irVersion, opsets, "ResNet.MLNet", version, graph);
    }

    private string UniqueNodeName(string opType)
    {
        string name;
        do name = $"{opType}_{_counter++}";
        while (_nodeNames.Contains(name));
        return name;
    }

    private void Claim(string name, string role)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"A {role} needs a non-empty name.", nameof(name));
        if (!_names.Add(name)) throw new ArgumentException($"The name '{name}' ({role}) is already used in graph '{GraphName}'.", nameof(name));
    }
}
