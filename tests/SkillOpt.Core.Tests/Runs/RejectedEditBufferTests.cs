using SkillOpt.Core.Edits;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Tests.Runs;

public class RejectedEditBufferTests
{
    private static readonly SkillEdit Harmful = new(EditOperation.Append, null, "- Skip the final check.");

    [Fact]
    public void Rejected_edits_persist_and_filter_their_rephrasings()
    {
        var path = Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"), "rejected_edits.json");
        var buffer = new RejectedEditBuffer();
        buffer.Add(Harmful, phase: 3, epoch: 1, scoreDrop: 0.2, reason: "worse");
        buffer.Save(path);

        var loaded = RejectedEditBuffer.Load(path);
        var entry = Assert.Single(loaded.Entries);
        Assert.Equal((3, 1, 0.2), (entry.Phase, entry.Epoch, entry.ScoreDrop));
        var rephrased = new SkillEdit(EditOperation.Append, null, "-   skip the FINAL check");
        var other = new SkillEdit(EditOperation.Append, null, "- Convert units first.");
        var (kept, filtered) = loaded.Filter([rephrased, other]);
        Assert.Equal(1, filtered);
        Assert.Equal(other, Assert.Single(kept));
    }

    [Fact]
    public void Roll_back_drops_entries_of_unfinished_phases()
    {
        var buffer = new RejectedEditBuffer();
        buffer.Add(Harmful, 2, 1, 0.1, "a");
        buffer.Add(new SkillEdit(EditOperation.Append, null, "- Other."), 5, 2, 0.1, "b");
        buffer.RollBackTo(5);
        Assert.True(buffer.Contains(Harmful));
        Assert.Single(buffer.Entries);
        Assert.False(buffer.Contains(new SkillEdit(EditOperation.Append, null, "- Other.")));
    }

    [Fact]
    public void Missing_file_is_an_empty_buffer() =>
        Assert.Empty(RejectedEditBuffer.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".json")).Entries);
}

public class RejectedEditBundleTests
{
    [Fact]
    public void An_edit_rejected_in_a_bundle_is_banned_only_after_a_second_rejection()
    {
        var good = new SkillEdit(EditOperation.Append, null, "- Convert units first.");
        var buffer = new RejectedEditBuffer();
        buffer.Add(good, 1, 1, 0.3, "bundle", bundleSize: 2);
        Assert.True(buffer.Contains(good));
        Assert.False(buffer.IsBanned(good));
        Assert.Equal(0, buffer.Filter([good]).Filtered);
        buffer.Add(good, 2, 1, 0.1, "again", bundleSize: 3);
        Assert.True(buffer.IsBanned(good));
        Assert.Single(buffer.Distinct());
    }
}
