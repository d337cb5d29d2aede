using SkillOpt.Core.Edits;

namespace SkillOpt.Core.Runs;

/// <summary>One edit the gate rejected, remembered so that it is not proposed again.</summary>
/// <param name="Key">Normalised hash of the edit (<see cref="SkillEdit.Key"/>).</param>
/// <param name="Operation">Edit operation name (<c>append</c>, <c>insert_after</c>, <c>replace</c>, <c>delete</c>).</param>
/// <param name="Target">Anchor text, if any.</param>
/// <param name="Content">Content text, if any.</param>
/// <param name="Phase">Index of the phase (step or epoch-end update) that rejected it; used to roll back on resume.</param>
/// <param name="Epoch">Epoch (1-based) that rejected it.</param>
/// <param name="ScoreDrop">Incumbent score minus candidate score, in score points of [0,1] (negative when the candidate was better but not significantly).</param>
/// <param name="Reason">The gate's reason.</param>
/// <param name="BundleSize">How many edits the rejected candidate held (1 = this edit alone).</param>
internal sealed record RejectedEditEntry(string Key, string Operation, string? Target, string? Content, int Phase, int Epoch, double ScoreDrop, string Reason, int BundleSize = 1);

/// <summary>
/// The rejected-edit buffer: every rejection of an edit by the gate, kept across epochs and persisted in the run folder
/// (<c>rejected_edits.json</c>), keyed by the edit's normalised hash. Re-proposed rejected edits are filtered in code.
/// </summary>
/// <remarks>
/// An edit is banned once it was rejected alone, or rejected in two different candidates. A single rejection of a
/// candidate that bundled several edits is weak evidence against each of them (one harmful edit sinks its partners),
/// so such an edit may be tried once more; the optimizer still sees every rejection in its prompt.
/// </remarks>
/// <remarks>Not thread-safe; the loop uses it from one thread.</remarks>
internal sealed class RejectedEditBuffer
{
    private readonly List<RejectedEditEntry> _entries = [];

    /// <summary>Every rejection in order (an edit rejected twice has two entries).</summary>
    public IReadOnlyList<RejectedEditEntry> Entries => _entries;

    /// <summary>One entry per rejected edit (its latest rejection), in order of first rejection: what the optimizer is shown.</summary>
    public IReadOnlyList<RejectedEditEntry> Distinct() =>
        _entries.GroupBy(e => e.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();

    /// <summary>True when an edit with the same normalised hash was rejected at least once.</summary>
    public bool Contains(SkillEdit edit) => _entries.Any(e => e.Key == edit.Key);

    /// <summary>True when the edit is banned: rejected alone, or rejected in two candidates.</summary>
    public bool IsBanned(SkillEdit edit)
    {
        var hits = _entries.Where(e => e.Key == edit.Key).ToList();
        return hits.Any(e => e.BundleSize <= 1) || hits.Count >= 2;
    }

    /// <summary>Records one rejection of <paramref name="edit"/>.</summary>
    /// <param name="edit">The edit.</param>
    /// <param name="phase">Phase index of the rejection.</param>
    /// <param name="epoch">1-based epoch.</param>
    /// <param name="scoreDrop">Incumbent minus candidate validation score.</param>
    /// <param name="reason">The gate's reason.</param>
    /// <param name="bundleSize">Edits in the rejected candidate (1 = alone).</param>
    public void Add(SkillEdit edit, int phase, int epoch, double scoreDrop, string reason, int bundleSize = 1) =>
        _entries.Add(new RejectedEditEntry(edit.Key, SkillEdit.OperationName(edit.Operation), edit.Target, edit.Content, phase, epoch, scoreDrop, reason, Math.Max(1, bundleSize)));

    /// <summary>Splits <paramref name="edits"/> into those not banned and the number filtered out.</summary>
    public (IReadOnlyList<SkillEdit> Kept, int Filtered) Filter(IReadOnlyList<SkillEdit> edits)
    {
        var kept = edits.Where(e => !IsBanned(e)).ToList();
        return (kept, edits.Count - kept.Count);
    }

    /// <summary>Drops entries of phases at or after <paramref name="phase"/> (used when resuming after an interrupted phase).</summary>
    public void RollBackTo(int phase) => _entries.RemoveAll(e => e.Phase >= phase);

    /// <summary>Drops every entry (the reference's per-epoch reset, used only by the <c>classic</c> preset).</summary>
    public void Clear() => _entries.Clear();

    /// <summary>Writes the buffer to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteJson(path, new RejectedEditFile(1, _entries));

    /// <summary>Loads a buffer from <paramref name="path"/>; empty when the file does not exist.</summary>
    /// <exception cref="System.Text.Json.JsonException">The file is malformed.</exception>
    public static RejectedEditBuffer Load(string path)
    {
        var buffer = new RejectedEditBuffer();
        var file = AtomicFile.ReadJson<RejectedEditFile>(path);
        buffer._entries.AddRange(file?.Entries ?? []);
        return buffer;
    }

    private sealed record RejectedEditFile(int SchemaVersion, IReadOnlyList<RejectedEditEntry> Entries);
}
