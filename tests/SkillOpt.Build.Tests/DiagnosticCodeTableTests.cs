using System.Reflection;
using System.Text.RegularExpressions;
using SkillOpt.Build.Tests.Infrastructure;

namespace SkillOpt.Build.Tests;

/// <summary>
/// The table of diagnostic codes (src/Shared/DiagnosticCodes.cs, compiled into the task assembly as into SkillOpt.Core)
/// and docs/diagnostics.md list the same codes, each once; the code, the MSBuild targets and the docs name no other.
/// </summary>
public partial class DiagnosticCodeTableTests
{
    private static readonly IReadOnlyList<string> Table = typeof(DiagnosticCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToList();

    [Fact]
    public void The_table_holds_each_code_once_in_the_house_format()
    {
        Assert.NotEmpty(Table);
        Assert.All(Table, code => Assert.Matches(@"^SKOPT[1-4]\d{3}$", code));
        Assert.Equal(Table.Count, Table.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Docs_diagnostics_has_one_row_for_each_code_of_the_table_and_no_other()
    {
        var rows = DocRow().Matches(File.ReadAllText(Repo.Path("docs", "diagnostics.md")))
            .Select(m => m.Groups[1].Value).ToList();

        var twice = rows.GroupBy(c => c, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"documented more than once: {string.Join(", ", twice)}");
        Assert.Equal(Table.Order(StringComparer.Ordinal), rows.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Code_outside_the_table_only_names_codes_of_the_table()
    {
        var shared = Repo.Path("src", "Shared", "DiagnosticCodes.cs");
        var files = Directory.EnumerateFiles(Repo.Path("src"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Repo.Path("build"), "*", SearchOption.AllDirectories))
            .Where(f => !IsBuildOutput(f) && !string.Equals(Path.GetFullPath(f), Path.GetFullPath(shared), StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);

        var literals = new List<string>();
        var unknown = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            if (file.EndsWith(".cs", StringComparison.Ordinal))
            {
                // A code is defined once, in the table: everywhere else C# names it (DiagnosticCodes.X).
                literals.AddRange(CodeLiteral().Matches(text).Select(m => $"{Path.GetRelativePath(Repo.Root, file)}: {m.Value}"));
            }
            unknown.AddRange(Code().Matches(text).Select(m => m.Value).Where(c => !Table.Contains(c))
                .Select(c => $"{Path.GetRelativePath(Repo.Root, file)}: {c}"));
        }

        Assert.True(literals.Count == 0, "codes written as literals outside src/Shared/DiagnosticCodes.cs:\n" + string.Join('\n', literals));
        Assert.True(unknown.Count == 0, "codes that are not in the table:\n" + string.Join('\n', unknown));
    }

    [Fact]
    public void The_docs_name_no_code_outside_the_table()
    {
        var pages = Directory.EnumerateFiles(Repo.Path("docs"), "*.md").Append(Repo.Path("README.md")).Append(Repo.Path("AGENTS.md"));
        var unknown = pages.SelectMany(p => Code().Matches(File.ReadAllText(p)).Select(m => m.Value)
                .Where(c => !Table.Contains(c)).Select(c => $"{Path.GetFileName(p)}: {c}"))
            .Distinct(StringComparer.Ordinal).ToList();

        Assert.True(unknown.Count == 0, "codes that are not in the table:\n" + string.Join('\n', unknown));
    }

    private static bool IsBuildOutput(string path) =>
        path.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(p => p is "bin" or "obj");

    [GeneratedRegex(@"^\| (SKOPT\d{4}) \|", RegexOptions.Multiline)]
    private static partial Regex DocRow();

    [GeneratedRegex(@"""SKOPT\d{4}""")]
    private static partial Regex CodeLiteral();

    [GeneratedRegex(@"\bSKOPT\d{4}\b")]
    private static partial Regex Code();
}
