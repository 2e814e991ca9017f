using System.Text.RegularExpressions;

namespace ResNet.MLNet.Tests.Docs;

/// <summary>The code of the repository's Markdown pages: fenced blocks and inline code spans, with where they stand.</summary>
internal static partial class MarkdownCode
{
    /// <summary>A fenced block: its language tag, its text and the page and line of its opening fence.</summary>
    public sealed record Block(string Language, string Text, string Page, int Line)
    {
        public override string ToString() => $"{Page}:{Line}";
    }

    /// <summary>The pages users read: the README, docs/ and the package's own readme.</summary>
    public static IEnumerable<string> Pages() =>
        new[] { "README.md", "src/ResNet.MLNet/PackageReadme.md" }
            .Concat(Directory.GetFiles(RepositoryFiles.PathOf("docs"), "*.md").Order()
                .Select(path => Path.GetRelativePath(RepositoryFiles.Root, path)));

    public static IEnumerable<Block> Blocks(string page)
    {
        string[] lines = RepositoryFiles.Read(page).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal)) continue;
            string language = lines[i][3..].Trim();
            int start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++) body.Add(lines[i]);
            yield return new Block(language, string.Join('\n', body) + "\n", page, start + 1);
        }
    }

    /// <summary>Inline code spans outside fenced blocks.</summary>
    public static IEnumerable<(string Code, string Page)> Spans(string page)
    {
        string text = FencedBlock().Replace(RepositoryFiles.Read(page), "");
        return InlineSpan().Matches(text).Select(m => (m.Groups[1].Value, page));
    }

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"(?<!`)`([^`\n]+)`(?!`)")]
    private static partial Regex InlineSpan();
}
