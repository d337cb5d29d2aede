using SkillOpt.Core.Edits;
using SkillOpt.Core.Skills;

namespace SkillOpt.Core.Tests.Reference;

/// <summary>
/// The <c>classic</c> edit application against 280 cases the reference's <c>apply_patch_with_report</c> produced
/// (skill, ordered edits → its output document and per-edit status).
/// </summary>
public sealed class ReferenceEditTests
{
    private static readonly EditApplier Classic = new(new EditApplierOptions { ClassicMatching = true });

    [Fact]
    public void The_fixture_holds_every_case_and_every_status_the_reference_reports()
    {
        var cases = ReferenceFixtures.EditCases;
        Assert.Equal(280, cases.Count);
        var statuses = cases.SelectMany(c => c.Statuses).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "applied_append", "applied_append_before_protected_region", "applied_insert_after", "applied_insert_after_fallback_append",
                "applied_insert_after_fallback_before_protected_region", "applied_replace", "applied_delete", "skipped_protected_region",
                "skipped_replace_missing_target", "skipped_replace_target_not_found", "skipped_delete_missing_target",
                "skipped_delete_target_not_found", "skipped_unknown_op",
            },
            statuses);
        Assert.Contains(cases, c => c.Skill.Contains("\r\n", StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Skill.Contains(SkillDocument.ReferenceAppendixStartMarker, StringComparison.Ordinal));
    }

    [Fact]
    public void The_port_reproduces_every_document_byte_for_byte_and_every_status()
    {
        var failures = new List<string>();
        foreach (var c in ReferenceFixtures.EditCases)
        {
            var (text, statuses) = ReferenceEditApplication.ApplyPatch(c.Skill, c.Edits.Select(e => (e.Op, e.Target, e.Content)));
            Check(c, text, statuses, c.Statuses, failures);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {ReferenceFixtures.EditCases.Count} cases differ:\n" + string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void The_classic_applier_reproduces_every_document_byte_for_byte_and_every_status()
    {
        // An edit with an unknown operation cannot be a SkillEdit (the reply schema refuses it); the reference skips it
        // without touching the text, so the case without it must give the same document and the other statuses.
        var failures = new List<string>();
        var applied = 0;
        foreach (var c in ReferenceFixtures.EditCases)
        {
            var known = c.Edits.Select((e, i) => (Edit: e, Status: c.Statuses[i]))
                .Where(x => SkillEdit.TryParseOperation(x.Edit.Op, out _) && x.Edit.Op == x.Edit.Op.ToLowerInvariant())
                .ToList();
            var edits = known.Select(x =>
            {
                SkillEdit.TryParseOperation(x.Edit.Op, out var op);
                return new SkillEdit(op, x.Edit.Target, x.Edit.Content);
            }).ToList();

            var result = Classic.Apply(SkillDocument.Parse(c.Skill), edits);
            var statuses = result.Applied.Select(a => (a.Index, a.Status)).Concat(result.Rejected.Select(r => (r.Index, r.Status)))
                .OrderBy(x => x.Index).Select(x => x.Status).ToList();
            Check(c, result.Result.Text, statuses, [.. known.Select(x => x.Status)], failures);
            Assert.Equal(result.Result.Text, result.Result.Render());
            applied += result.Applied.Count;
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {ReferenceFixtures.EditCases.Count} cases differ:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(applied > 400, $"only {applied} edits applied");
    }

    [Fact]
    public void Classic_reports_the_reference_statuses_with_reasons()
    {
        const string skill = "# T\n\nRule one.\n\n<!-- SLOW_UPDATE_START -->\nGuidance.\n<!-- SLOW_UPDATE_END -->\n";
        var result = Classic.Apply(SkillDocument.Parse(skill), [
            new SkillEdit(EditOperation.Append, null, "  Rule two.\n<!-- SLOW_UPDATE_END -->"),
            new SkillEdit(EditOperation.Replace, "Guidance.", "Mine."),
            new SkillEdit(EditOperation.Delete, "Not there", null),
            new SkillEdit(EditOperation.Replace, "", "x"),
            new SkillEdit(EditOperation.InsertAfter, "Not there", "Fallback."),
            new SkillEdit(EditOperation.Delete, "Rule one.", null),
        ]);

        Assert.Equal(
            "# T\n\n\n\nRule two.\n\nFallback.\n\n<!-- SLOW_UPDATE_START -->\nGuidance.\n<!-- SLOW_UPDATE_END -->\n",
            result.Result.Text);
        Assert.Equal(
            ["applied_append_before_protected_region", "applied_insert_after_fallback_before_protected_region", "applied_delete"],
            result.Applied.Select(a => a.Status));
        Assert.Equal([0, 4, 5], result.Applied.Select(a => a.Index));
        Assert.Equal(
            [
                (1, EditRejectionReason.ProtectedRegion, "skipped_protected_region"),
                (2, EditRejectionReason.AnchorNotFound, "skipped_delete_target_not_found"),
                (3, EditRejectionReason.MissingTarget, "skipped_replace_missing_target"),
            ],
            result.Rejected.Select(r => (r.Index, r.Reason, r.Status)));
        Assert.Equal("Guidance.", result.Result.SlowUpdateGuidance);
    }

    [Fact]
    public void Classic_protects_our_regions_too_but_appends_where_the_reference_would()
    {
        // The reference sees our markers as plain text: appends go to the end; only the refusals are ours.
        const string skill = "Intro.\n\n<!-- skillopt:protected -->\nKeep.\n<!-- /skillopt:protected -->\n";
        var result = Classic.Apply(SkillDocument.Parse(skill), [
            new SkillEdit(EditOperation.Replace, "Keep.", "Changed."),
            new SkillEdit(EditOperation.Append, null, "More."),
            new SkillEdit(EditOperation.Append, null, "<!-- skillopt:protected -->"),
        ]);

        Assert.Equal(skill + "\nMore.\n", result.Result.Text);
        Assert.Equal(["skipped_protected_region", "skipped_forged_marker"], result.Rejected.Select(r => r.Status));
        Assert.Equal("applied_append", Assert.Single(result.Applied).Status);
    }

    [Fact]
    public void Classic_refuses_an_edit_that_would_leave_a_marker_unmatched()
    {
        // The reference checks only where the target starts: this span starts outside the block and removes its start
        // marker, leaving an orphan end marker that no skill file may have; classic refuses it.
        const string skill = "Rule.\n\n<!-- SLOW_UPDATE_START -->\nGuidance.\n<!-- SLOW_UPDATE_END -->\n";
        var (referenceText, referenceStatus) = ReferenceEditApplication.ApplyEdit(skill, "delete", "Rule.\n\n<!-- SLOW_UPDATE_START -->\n", "");
        Assert.Equal("applied_delete", referenceStatus);
        Assert.Throws<SkillFormatException>(() => SkillDocument.Parse(referenceText));

        var result = Classic.Apply(SkillDocument.Parse(skill), [new SkillEdit(EditOperation.Delete, "Rule.\n\n<!-- SLOW_UPDATE_START -->\n", null)]);

        var rejected = Assert.Single(result.Rejected);
        Assert.Equal("skipped_breaks_protected_markers", rejected.Status);
        Assert.Equal(EditRejectionReason.ProtectedRegion, rejected.Reason);
        Assert.Equal(skill, result.Result.Text);
    }

    [Fact]
    public void Python_whitespace_is_stripped_from_content()
    {
        // U+001F is whitespace to Python's str.strip and not to .NET's string.Trim.
        var (text, status) = ReferenceEditApplication.ApplyEdit("A\n", "append", "", "\u001f\u00a0B\u2003\n");

        Assert.Equal("applied_append", status);
        Assert.Equal("A\n\nB\n", text);
    }

    private static void Check(ReferenceFixtures.EditCase c, string text, IReadOnlyList<string> statuses, IReadOnlyList<string> expectedStatuses, List<string> failures)
    {
        if (!string.Equals(text, c.Expected, StringComparison.Ordinal))
        {
            var at = Enumerable.Range(0, Math.Min(text.Length, c.Expected.Length)).FirstOrDefault(i => text[i] != c.Expected[i], Math.Min(text.Length, c.Expected.Length));
            failures.Add($"{c.Id}: document differs at offset {at}: expected …{Show(c.Expected, at)}…, got …{Show(text, at)}…");
        }

        if (!statuses.SequenceEqual(expectedStatuses))
        {
            failures.Add($"{c.Id}: statuses [{string.Join(", ", statuses)}], expected [{string.Join(", ", expectedStatuses)}]");
        }
    }

    private static string Show(string text, int at) =>
        text.Substring(Math.Max(0, at - 20), Math.Min(text.Length, at + 20) - Math.Max(0, at - 20)).ReplaceLineEndings("⏎");
}
