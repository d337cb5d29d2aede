using System.Globalization;
using System.Text;
using System.Text.Json;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Optimization;

/// <summary>Everything a step's reflections produced, for the step folder and history.</summary>
/// <param name="Replies">One reply per reflection call (failures first, then successes).</param>
/// <param name="FailurePatches">Edits from each failure minibatch.</param>
/// <param name="SuccessPatches">Edits from each success minibatch.</param>
internal sealed record ReflectionOutput(IReadOnlyList<StructuredReply<ReflectionReply>> Replies, IReadOnlyList<IReadOnlyList<SkillEdit>> FailurePatches, IReadOnlyList<IReadOnlyList<SkillEdit>> SuccessPatches)
{
    /// <summary>The failure analysts' failure types (<c>type: description</c>), in minibatch order; empty unless they were asked for.</summary>
    internal IReadOnlyList<string> FailureTypes { get; init; } = [];
}

/// <summary>What one step's reflection is asked.</summary>
/// <param name="Skill">The current skill.</param>
/// <param name="Failures">Failed trajectories, in minibatch order.</param>
/// <param name="Successes">Successful trajectories (empty when successes are not reflected on).</param>
/// <param name="MinibatchSize">Trajectories per call.</param>
/// <param name="MaxEdits">Most edits each call may propose.</param>
/// <param name="MetaAdvice">The meta skill's advice (empty for none).</param>
/// <param name="Memory">The prompt section on earlier steps: the rejected edits, or the step buffer (empty for none).</param>
/// <param name="MessageChars">Characters of one trajectory message shown (<see cref="int.MaxValue"/>: whole).</param>
/// <param name="AskFailureTypes">Failure analysts also name their failure types (<c>failure_summary</c>).</param>
/// <param name="ShowSystemMessages">Each trajectory shows its system message (the skill) too.</param>
internal sealed record ReflectionRequest(string Skill, IReadOnlyList<RolloutResult> Failures, IReadOnlyList<RolloutResult> Successes, int MinibatchSize, int MaxEdits,
    string MetaAdvice, string Memory, int MessageChars = 2000, bool AskFailureTypes = false, bool ShowSystemMessages = false);

/// <summary>The result of merging patches.</summary>
/// <param name="Edits">Merged edits, failure-derived first.</param>
/// <param name="Replies">Every merge call made (0 when nothing needed merging).</param>
internal sealed record MergeOutput(IReadOnlyList<SkillEdit> Edits, IReadOnlyList<StructuredReply<MergeReply>> Replies);

/// <summary>
/// The optimizer model's roles in the loop: reflection over minibatches of trajectories, hierarchical merge with
/// failure priority, ranking when more edits survive than the learning rate allows, slow update and meta skill.
/// </summary>
internal sealed class OptimizerModel
{
    private readonly StructuredCaller _caller;
    private readonly int _concurrency;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="caller">Typed caller over the optimizer's IChatClient.</param>
    /// <param name="concurrency">Most optimizer calls in flight at once (reference default: 16).</param>
    public OptimizerModel(StructuredCaller caller, int concurrency)
    {
        _caller = caller;
        _concurrency = Math.Max(1, concurrency);
    }

    /// <summary>
    /// Reflects on failures and successes in minibatches of <paramref name="minibatchSize"/>, each call proposing at most
    /// <paramref name="maxEdits"/> edits (extra edits of a reply are dropped). Calls run concurrently; results keep input order.
    /// </summary>
    public Task<ReflectionOutput> ReflectAsync(string skill, IReadOnlyList<RolloutResult> failures, IReadOnlyList<RolloutResult> successes,
        int minibatchSize, int maxEdits, string metaAdvice, IReadOnlyList<RejectedEditEntry> rejected, CancellationToken cancellationToken) =>
        ReflectAsync(new ReflectionRequest(skill, failures, successes, minibatchSize, maxEdits, metaAdvice, FormatRejected(rejected)), cancellationToken);

    /// <summary>
    /// Reflects as <paramref name="request"/> says: one call per minibatch of failures, then of successes, concurrently;
    /// results keep input order, and a reply's edits beyond <see cref="ReflectionRequest.MaxEdits"/> are dropped.
    /// </summary>
    internal async Task<ReflectionOutput> ReflectAsync(ReflectionRequest request, CancellationToken cancellationToken)
    {
        var jobs = request.Failures.Chunk(request.MinibatchSize).Select(c => (Failures: true, Batch: c))
            .Concat(request.Successes.Chunk(request.MinibatchSize).Select(c => (Failures: false, Batch: c))).ToList();
        var replies = new StructuredReply<ReflectionReply>[jobs.Count];
        var metaSection = MetaSection(request.MetaAdvice);
        var schema = request.AskFailureTypes ? OptimizerSchemas.ReflectionWithFailureTypes : OptimizerSchemas.Reflection;
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs.Count), new ParallelOptions { MaxDegreeOfParallelism = _concurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var (isFailure, batch) = jobs[i];
                var values = new Dictionary<string, string>
                {
                    ["max_edits"] = request.MaxEdits.ToString(CultureInfo.InvariantCulture),
                    ["meta_skill"] = metaSection,
                    ["memory"] = request.Memory,
                    ["skill"] = request.Skill,
                    ["count"] = batch.Length.ToString(CultureInfo.InvariantCulture),
                    ["trajectories"] = TrajectoryFormatter.Format(batch, request.MessageChars, request.ShowSystemMessages),
                    ["schema"] = schema.Name,
                };
                if (isFailure)
                {
                    values["failure_types"] = request.AskFailureTypes ? FailureTypesRequest : "";
                }
                var prompt = PromptTemplates.Render(isFailure ? "reflect_failures" : "reflect_successes", values);
                replies[i] = await _caller.CallAsync(ChatStage.Reflect, schema, prompt, r => OptimizerSchemas.ValidateEdits(r.Edits), ct).ConfigureAwait(false);
            }).ConfigureAwait(false);

        var fp = new List<IReadOnlyList<SkillEdit>>();
        var sp = new List<IReadOnlyList<SkillEdit>>();
        var failureTypes = new List<string>();
        for (var i = 0; i < jobs.Count; i++)
        {
            var edits = (replies[i].Value?.Edits ?? []).Take(request.MaxEdits).Select(e => e.ToEdit()).ToList();
            if (edits.Count > 0)
            {
                (jobs[i].Failures ? fp : sp).Add(edits);
            }
            if (jobs[i].Failures)
            {
                failureTypes.AddRange((replies[i].Value?.FailureSummary ?? []).Select(f => f.Describe()).Where(d => d.Length > 0));
            }
        }
        return new ReflectionOutput(replies, fp, sp) { FailureTypes = failureTypes };
    }

    /// <summary>What failure analysts are asked in addition when failure types are wanted (the reference's <c>failure_summary</c>).</summary>
    private const string FailureTypesRequest = " Also list the common failure patterns in\n`failure_summary`: for each, a short failure type, how many of the trajectories show it and a one-line description.";

    /// <summary>
    /// Hierarchical merge: each side's patches are merged in groups of <paramref name="fanIn"/> until one patch is left per
    /// side, then one final merge gives failure-derived edits priority. A patch that is alone needs no call. When a merge
    /// reply is unusable after its repair, its input edits are kept, concatenated (and the failure is counted).
    /// </summary>
    public Task<MergeOutput> MergeAsync(string skill, IReadOnlyList<IReadOnlyList<SkillEdit>> failurePatches, IReadOnlyList<IReadOnlyList<SkillEdit>> successPatches,
        int fanIn, int maxEdits, string metaAdvice, CancellationToken cancellationToken) =>
        MergeAsync(skill, failurePatches, successPatches, fanIn, (int?)maxEdits, metaAdvice, cancellationToken);

    /// <summary>
    /// The hierarchical merge with an optional cap: <paramref name="maxEdits"/> null asks each merge for no particular number
    /// of edits and keeps all it returns (the reference's uncapped merge, <c>classic</c> preset).
    /// </summary>
    internal async Task<MergeOutput> MergeAsync(string skill, IReadOnlyList<IReadOnlyList<SkillEdit>> failurePatches, IReadOnlyList<IReadOnlyList<SkillEdit>> successPatches,
        int fanIn, int? maxEdits, string metaAdvice, CancellationToken cancellationToken)
    {
        var replies = new List<StructuredReply<MergeReply>>();
        var f = await ReduceAsync(skill, failurePatches, fanIn, maxEdits, metaAdvice, "failure", replies, cancellationToken).ConfigureAwait(false);
        var s = await ReduceAsync(skill, successPatches, fanIn, maxEdits, metaAdvice, "success", replies, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<SkillEdit> final;
        if (f is null || s is null)
        {
            final = f ?? s ?? [];
        }
        else
        {
            final = await MergeGroupAsync(skill, [("failures", f), ("successes", s)], maxEdits, metaAdvice,
                "Edits from FAILURES have priority: when two edits conflict, keep the one from failures.", replies, cancellationToken).ConfigureAwait(false);
        }
        return new MergeOutput(Dedupe(final), replies);
    }

    private async Task<IReadOnlyList<SkillEdit>?> ReduceAsync(string skill, IReadOnlyList<IReadOnlyList<SkillEdit>> patches, int fanIn, int? maxEdits, string metaAdvice,
        string side, List<StructuredReply<MergeReply>> replies, CancellationToken cancellationToken)
    {
        if (patches.Count == 0)
        {
            return null;
        }
        var level = patches.ToList();
        while (level.Count > 1)
        {
            var groups = level.Chunk(Math.Max(2, fanIn)).ToList();
            var next = new IReadOnlyList<SkillEdit>[groups.Count];
            var levelReplies = new List<StructuredReply<MergeReply>>[groups.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, groups.Count), new ParallelOptions { MaxDegreeOfParallelism = _concurrency, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    levelReplies[i] = [];
                    next[i] = groups[i].Length == 1
                        ? groups[i][0]
                        : await MergeGroupAsync(skill, groups[i].Select((p, j) => ($"{side} patch {j + 1}", p)).ToList(), maxEdits, metaAdvice,
                            $"All patches come from {side}s.", levelReplies[i], ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
            replies.AddRange(levelReplies.SelectMany(r => r));
            level = next.ToList();
        }
        return level[0];
    }

    private async Task<IReadOnlyList<SkillEdit>> MergeGroupAsync(string skill, IReadOnlyList<(string Label, IReadOnlyList<SkillEdit> Edits)> patches, int? maxEdits,
        string metaAdvice, string priority, List<StructuredReply<MergeReply>> replies, CancellationToken cancellationToken)
    {
        var total = patches.Sum(p => p.Edits.Count);
        var cap = maxEdits is { } max ? Math.Max(1, Math.Min(total, max)) : int.MaxValue;
        var sb = new StringBuilder();
        foreach (var (label, edits) in patches)
        {
            sb.Append("### ").Append(label).Append("\n\n```json\n")
              .Append(JsonSerializer.Serialize(edits.Select(EditReply.From), OptimizerSchemas.ReplyJson)).Append("\n```\n\n");
        }
        var prompt = PromptTemplates.Render("merge", new Dictionary<string, string>
        {
            ["priority"] = priority,
            ["limit"] = maxEdits is null ? "" : $" Return at most\n{cap.ToString(CultureInfo.InvariantCulture)} edits.",
            ["meta_skill"] = string.IsNullOrWhiteSpace(metaAdvice) ? "" : $"\nAdvice from earlier epochs: {metaAdvice.Trim()}\n",
            ["skill"] = skill,
            ["patches"] = sb.ToString().TrimEnd(),
            ["schema"] = OptimizerSchemas.Merge.Name,
        });
        var reply = await _caller.CallAsync(ChatStage.Merge, OptimizerSchemas.Merge, prompt,
            r => OptimizerSchemas.ValidateEdits(r.Edits) ?? (maxEdits is not null && r.Edits.Count > total ? $"the merge returned {r.Edits.Count} edits but received only {total}" : null),
            cancellationToken).ConfigureAwait(false);
        lock (replies)
        {
            replies.Add(reply);
        }
        return reply.Value is null
            ? patches.SelectMany(p => p.Edits).ToList()
            : reply.Value.Edits.Take(cap).Select(e => e.ToEdit()).ToList();
    }

    /// <summary>
    /// Selects at most <paramref name="budget"/> of <paramref name="edits"/> with one ranking call. When the reply stays
    /// unusable after its repair, the first <paramref name="budget"/> edits (failure-derived first) are kept.
    /// </summary>
    public Task<(IReadOnlyList<SkillEdit> Selected, StructuredReply<RankingReply> Reply)> RankAsync(string skill, IReadOnlyList<SkillEdit> edits, int budget, CancellationToken cancellationToken) =>
        RankAsync(skill, edits, budget, "", cancellationToken);

    /// <summary>Ranking with the meta skill's advice in the prompt (the reference's, <c>classic</c> preset); empty advice adds nothing.</summary>
    internal async Task<(IReadOnlyList<SkillEdit> Selected, StructuredReply<RankingReply> Reply)> RankAsync(string skill, IReadOnlyList<SkillEdit> edits, int budget, string metaAdvice,
        CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < edits.Count; i++)
        {
            sb.Append(i + 1).Append(". ").Append(JsonSerializer.Serialize(EditReply.From(edits[i]), OptimizerSchemas.ReplyJson)).Append('\n');
        }
        var prompt = PromptTemplates.Render("rank", new Dictionary<string, string>
        {
            ["budget"] = budget.ToString(CultureInfo.InvariantCulture),
            ["count"] = edits.Count.ToString(CultureInfo.InvariantCulture),
            ["meta_skill"] = MetaSection(metaAdvice),
            ["skill"] = skill,
            ["edits"] = sb.ToString().TrimEnd(),
            ["schema"] = OptimizerSchemas.Ranking.Name,
        });
        var reply = await _caller.CallAsync(ChatStage.Rank, OptimizerSchemas.Ranking, prompt, r =>
        {
            if (r.Selected.Count == 0)
            {
                return "'selected' is empty";
            }
            if (r.Selected.Any(n => n < 1 || n > edits.Count))
            {
                return $"'selected' must hold numbers between 1 and {edits.Count}";
            }
            return r.Selected.Distinct().Count() != r.Selected.Count ? "'selected' repeats a number" : null;
        }, cancellationToken).ConfigureAwait(false);
        var selected = reply.Value is null
            ? edits.Take(budget).ToList()
            : reply.Value.Selected.Take(budget).Select(n => edits[n - 1]).ToList();
        return (selected, reply);
    }

    /// <summary>Writes slow-update guidance from a task-by-task comparison of the previous and current skills.</summary>
    public Task<StructuredReply<SlowUpdateReply>> SlowUpdateAsync(string previousSkill, string skill, string comparison, int taskCount, int maxWords, CancellationToken cancellationToken)
    {
        var prompt = PromptTemplates.Render("slow_update", new Dictionary<string, string>
        {
            ["count"] = taskCount.ToString(CultureInfo.InvariantCulture),
            ["max_words"] = maxWords.ToString(CultureInfo.InvariantCulture),
            ["previous_skill"] = previousSkill,
            ["skill"] = skill,
            ["comparison"] = comparison,
            ["schema"] = OptimizerSchemas.SlowUpdate.Name,
        });
        return _caller.CallAsync(ChatStage.SlowUpdate, OptimizerSchemas.SlowUpdate, prompt, ValidateGuidance, cancellationToken);
    }

    /// <summary>Writes advice to the optimizer for the next epoch from the epoch's decisions.</summary>
    public Task<StructuredReply<MetaSkillReply>> MetaSkillAsync(int epoch, string decisions, int maxWords, CancellationToken cancellationToken)
    {
        var prompt = PromptTemplates.Render("meta_skill", new Dictionary<string, string>
        {
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["max_words"] = maxWords.ToString(CultureInfo.InvariantCulture),
            ["decisions"] = decisions,
            ["schema"] = OptimizerSchemas.MetaSkill.Name,
        });
        return _caller.CallAsync(ChatStage.Meta, OptimizerSchemas.MetaSkill, prompt, r => string.IsNullOrWhiteSpace(r.Advice) ? "'advice' is empty" : null, cancellationToken);
    }

    /// <summary>
    /// Writes slow-update guidance as the reference asks for it (<c>classic</c> preset): from the previous and current
    /// skills, the guidance that was in force (its own section) and a comparison with the trajectories of the changed and
    /// still-failing tasks, without a word limit.
    /// </summary>
    internal Task<StructuredReply<SlowUpdateReply>> SlowUpdateAsync(string previousSkill, string skill, string previousGuidance, string comparison, int taskCount,
        CancellationToken cancellationToken)
    {
        var prompt = PromptTemplates.Render("slow_update_classic", new Dictionary<string, string>
        {
            ["count"] = taskCount.ToString(CultureInfo.InvariantCulture),
            ["previous_skill"] = previousSkill,
            ["skill"] = skill,
            ["previous_guidance"] = string.IsNullOrWhiteSpace(previousGuidance) ? "(none: this is the first slow update)" : previousGuidance.Trim(),
            ["comparison"] = comparison,
            ["schema"] = OptimizerSchemas.SlowUpdate.Name,
        });
        return _caller.CallAsync(ChatStage.SlowUpdate, OptimizerSchemas.SlowUpdate, prompt, ValidateGuidance, cancellationToken);
    }

    /// <summary>
    /// Writes the meta skill as the reference does (<c>classic</c> preset): from the skills at the end of the previous epoch
    /// and of this epoch's last step, the previous meta skill and the task comparison of the two skills.
    /// </summary>
    internal Task<StructuredReply<MetaSkillReply>> MetaSkillAsync(string previousSkill, string skill, string previousMetaSkill, string comparison, CancellationToken cancellationToken)
    {
        var prompt = PromptTemplates.Render("meta_skill_classic", new Dictionary<string, string>
        {
            ["previous_skill"] = previousSkill,
            ["skill"] = skill,
            ["previous_meta_skill"] = string.IsNullOrWhiteSpace(previousMetaSkill) ? "(none: this is the first update)" : previousMetaSkill.Trim(),
            ["comparison"] = comparison,
            ["schema"] = OptimizerSchemas.MetaSkill.Name,
        });
        return _caller.CallAsync(ChatStage.Meta, OptimizerSchemas.MetaSkill, prompt, r => string.IsNullOrWhiteSpace(r.Advice) ? "'advice' is empty" : null, cancellationToken);
    }

    private static string? ValidateGuidance(SlowUpdateReply r) =>
        string.IsNullOrWhiteSpace(r.Guidance) ? "'guidance' is empty" : r.Guidance.Contains("skillopt:", StringComparison.Ordinal) ? "'guidance' must not contain skillopt markers" : null;

    /// <summary>The prompt section of the meta skill's advice ("" for none).</summary>
    private static string MetaSection(string metaAdvice) => string.IsNullOrWhiteSpace(metaAdvice) ? "" : $"\n## Advice from earlier epochs\n\n{metaAdvice.Trim()}\n";

    /// <summary>The prompt section of the rejected edits (the last 20; "" for none).</summary>
    internal static string FormatRejected(IReadOnlyList<RejectedEditEntry> rejected)
    {
        if (rejected.Count == 0)
        {
            return "";
        }
        var sb = new StringBuilder("\n## Edits already tried and rejected by validation (do not propose them again)\n\n");
        foreach (var e in rejected.TakeLast(20))
        {
            sb.Append("- ").Append(e.Operation);
            if (e.Target is not null)
            {
                sb.Append(" after/at \"").Append(Short(e.Target)).Append('"');
            }
            if (e.Content is not null)
            {
                sb.Append(": \"").Append(Short(e.Content)).Append('"');
            }
            sb.Append(" (score change ").Append((-e.ScoreDrop).ToString("+0.###;-0.###;0", CultureInfo.InvariantCulture)).Append(")\n");
        }
        return sb.ToString();
    }

    private static string Short(string s) => (s.Length <= 160 ? s : s[..160] + "…").Replace("\n", " ", StringComparison.Ordinal);

    private static List<SkillEdit> Dedupe(IReadOnlyList<SkillEdit> edits)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return edits.Where(e => seen.Add(e.Key)).ToList();
    }
}
