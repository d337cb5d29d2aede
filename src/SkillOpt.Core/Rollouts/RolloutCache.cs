using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SkillOpt.Core.Runs;

namespace SkillOpt.Core.Rollouts;

/// <summary>
/// Rollout results stored in the run folder (<c>cache/</c>) and keyed by (target model and settings, skill hash,
/// sample index, task id), so that no (skill, task, sample) is paid for twice: across steps, gates and resumed runs.
/// Errored results are never stored.
/// </summary>
/// <remarks>Thread-safe for distinct keys; each entry is one file written atomically.</remarks>
internal sealed class RolloutCache
{
    private readonly string _root;

    /// <summary>Opens the cache under <paramref name="runFolder"/> for one target model configuration.</summary>
    /// <param name="runFolder">The run folder.</param>
    /// <param name="targetFingerprint">Identifies the target model and its settings (provider, model, temperature, …).</param>
    public RolloutCache(string runFolder, string targetFingerprint)
    {
        _root = Path.Combine(runFolder, "cache", Hash(targetFingerprint)[..12]);
    }

    /// <summary>Cache hits so far.</summary>
    public int Hits => _hits;
    private int _hits;

    /// <summary>Returns the stored result, or null.</summary>
    public RolloutResult? TryGet(string skillHash, string taskId, int sample)
    {
        var r = AtomicFile.ReadJson<RolloutResult>(PathOf(skillHash, taskId, sample));
        if (r is not null)
        {
            Interlocked.Increment(ref _hits);
        }
        return r;
    }

    /// <summary>Returns the stored result without counting a hit, or null.</summary>
    public RolloutResult? Peek(string skillHash, string taskId, int sample) => AtomicFile.ReadJson<RolloutResult>(PathOf(skillHash, taskId, sample));

    /// <summary>Stores a result unless it is Errored.</summary>
    public void Put(string skillHash, int sample, RolloutResult result)
    {
        if (result.Outcome != TaskOutcome.Errored)
        {
            AtomicFile.WriteJson(PathOf(skillHash, result.TaskId, sample), result);
        }
    }

    private string PathOf(string skillHash, string taskId, int sample) =>
        Path.Combine(_root, skillHash[..Math.Min(16, skillHash.Length)], "s" + sample.ToString(CultureInfo.InvariantCulture), Hash(taskId)[..16] + ".json");

    private static string Hash(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}
