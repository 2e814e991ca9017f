using ResNet.MLNet.Cli;

namespace ResNet.MLNet.Tests.Docs;

/// <summary>
/// Every <c>resnet-mlnet …</c> command the pages show — a line of a code block, an inline code span, or the arguments
/// after <c>--</c> of a <c>dotnet run</c> of the CLI project — parses with the command line as built.
/// </summary>
public class DocCommandLineTests
{
    public static TheoryData<string, string> CommandLines()
    {
        var data = new TheoryData<string, string>();
        foreach (string page in MarkdownCode.Pages())
        {
            var lines = MarkdownCode.Blocks(page).Where(b => b.Language is "" or "bash" or "sh" or "console")
                .SelectMany(b => b.Text.Split('\n')).Select(line => line.Trim())
                .Concat(MarkdownCode.Spans(page).Select(span => span.Code.Trim()));
            foreach (string line in lines)
                if (Arguments(line) is string arguments) data.Add(page, arguments);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void Parses(string page, string arguments)
    {
        var result = CliApp.CreateRootCommand().Parse(Split(arguments));
        Assert.True(result.Errors.Count == 0,
            $"{page}: `resnet-mlnet {arguments}` does not parse: {string.Join("; ", result.Errors.Select(e => e.Message))}");
    }

    [Fact]
    public void ThePagesShowCommandLines() => Assert.True(CommandLines().Count() >= 10);

    /// <summary>
    /// The CLI's arguments on a documented line, or null when the line runs something else or only names a command
    /// (<c>resnet-mlnet serve</c> in a sentence).
    /// </summary>
    private static string? Arguments(string line)
    {
        line = line.StartsWith("$ ", StringComparison.Ordinal) ? line[2..] : line;
        string? arguments = null;
        if (line.StartsWith("resnet-mlnet ", StringComparison.Ordinal)) arguments = line["resnet-mlnet ".Length..];
        else if (line.StartsWith("dotnet run", StringComparison.Ordinal) && line.Contains("src/ResNet.MLNet.Cli", StringComparison.Ordinal)
                 && line.IndexOf(" -- ", StringComparison.Ordinal) is int dashes and > 0)
            arguments = line[(dashes + 4)..];
        if (arguments is null) return null;
        int comment = arguments.IndexOf(" #", StringComparison.Ordinal);
        arguments = (comment >= 0 ? arguments[..comment] : arguments).Trim();
        return arguments.Contains(' ', StringComparison.Ordinal) ? arguments : null;
    }

    /// <summary>Splits a shell line into arguments (spaces, single and double quotes).</summary>
    private static string[] Split(string line)
    {
        var args = new List<string>();
        var current = new System.Text.StringBuilder();
        char? quote = null;
        bool any = false;
        foreach (char c in line)
        {
            if (quote is not null)
            {
                if (c == quote) quote = null;
                else current.Append(c);
            }
            else if (c is '"' or '\'') { quote = c; any = true; }
            else if (char.IsWhiteSpace(c))
            {
                if (any || current.Length > 0) args.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else current.Append(c);
        }
        if (any || current.Length > 0) args.Add(current.ToString());
        return [.. args];
    }
}
