namespace ResNet.MLNet.Tests.Docs;

/// <summary>
/// The quick start the README and the package readme show is examples/QuickStart/Program.cs, and the README's
/// fine-tuning program is examples/FineTune/Program.cs, verbatim.
/// </summary>
public class QuickStartTests
{
    [Theory]
    [InlineData("README.md")]
    [InlineData("src/ResNet.MLNet/PackageReadme.md")]
    public void ThePageShowsTheQuickStartProgramVerbatim(string page)
    {
        string program = RepositoryFiles.Read("examples/QuickStart/Program.cs");
        var block = MarkdownCode.Blocks(page).First(b => b.Language == "csharp");
        Assert.Equal(program, block.Text);
    }

    [Fact]
    public void TheReadmeShowsTheFineTuneProgramVerbatim()
    {
        string program = RepositoryFiles.Read("examples/FineTune/Program.cs");
        var block = MarkdownCode.Blocks("README.md").First(b => b.Language == "csharp" && b.Text.Contains("Architectures.ImageNetResNet18", StringComparison.Ordinal));
        Assert.Equal(program, block.Text);
    }
}
