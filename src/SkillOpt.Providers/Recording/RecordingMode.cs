namespace SkillOpt.Providers;

/// <summary>Whether model responses are recorded to, or replayed from, a folder of JSON files (one per request key).</summary>
internal enum RecordingMode
{
    /// <summary>Every call goes to the provider; nothing is written.</summary>
    Off,
    /// <summary>Every call goes to the provider and its response is written (overwriting an earlier recording of the same request).</summary>
    Record,
    /// <summary>Every call is answered from the folder with zero provider calls; a request without a recording throws <see cref="RecordingMissException"/>.</summary>
    Replay,
    /// <summary>Calls with a recording are answered from the folder; the others go to the provider and are recorded.</summary>
    RecordMissing,
}
