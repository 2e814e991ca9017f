using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ResNet.MLNet.Tests.Docs;

/// <summary>
/// Every C# block of the README, the package readme and docs/ compiles against the library as a consumer's code: with the
/// SDK's implicit usings, the library's namespaces, and the names the pages say snippets share (<see cref="Prelude"/>).
/// </summary>
public class DocSnippetTests
{
    /// <summary>What a snippet may use without declaring it, as the README says: <c>ml</c>, <c>data</c>, <c>model</c>, <c>options</c>.</summary>
    private const string Prelude = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using Microsoft.ML;
        global using Microsoft.ML.Data;
        global using ResNet.MLNet;
        global using ResNet.MLNet.Data;
        global using ResNet.MLNet.Interpretation;
        global using ResNet.MLNet.Modules;
        global using ResNet.MLNet.Onnx;
        global using ResNet.MLNet.Persistence;
        global using ResNet.MLNet.Scoring;
        global using ResNet.MLNet.Training;
        global using ResNet.MLNet.Transforms;
        global using ResNet.MLNet.Visualization;
        global using static SharedNames;

        public static class SharedNames
        {
            public static MLContext ml = new();
            public static ImageFolder data = null!;
            public static ITransformer model = null!;
            public static ResNetTrainer.Options options = new();
        }
        """;

    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(path => path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !Path.GetFileName(path).StartsWith("ResNet.MLNet.Tests", StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)).ToArray());

    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (string page in MarkdownCode.Pages())
            foreach (var block in MarkdownCode.Blocks(page).Where(b => b.Language == "csharp"))
                data.Add(block.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void CompilesAgainstTheLibrary(string snippet)
    {
        var block = MarkdownCode.Pages().SelectMany(MarkdownCode.Blocks).Single(b => b.ToString() == snippet);
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var code = CSharpSyntaxTree.ParseText(block.Text, parse, path: snippet);
        bool hasStatements = code.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create("Snippet", [code, CSharpSyntaxTree.ParseText(Prelude, parse, path: "prelude.cs")], References.Value,
            new CSharpCompilationOptions(hasStatements ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToArray();
        Assert.True(errors.Length == 0, $"{snippet} does not compile:\n{string.Join('\n', errors)}\n\n{block.Text}");
    }
}
