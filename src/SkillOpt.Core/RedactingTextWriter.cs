using System.Text;

namespace SkillOpt.Core;

/// <summary>
/// A <see cref="TextWriter"/> that passes text on to another one line by line, each line through
/// <see cref="SecretRedaction.Redact(string?)"/>, so that a secret is never written even when it reaches the writer in pieces.
/// A partial line is held until its end, <see cref="Flush"/> or disposal. Thread-safe.
/// </summary>
/// <param name="inner">The writer that receives the redacted text (not disposed with this one).</param>
internal sealed class RedactingTextWriter(TextWriter inner) : TextWriter
{
    private readonly TextWriter _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly StringBuilder _line = new();
    private readonly object _gate = new();

    /// <inheritdoc/>
    public override Encoding Encoding => _inner.Encoding;

    /// <inheritdoc/>
    public override IFormatProvider FormatProvider => _inner.FormatProvider;

    /// <inheritdoc/>
    public override string NewLine
    {
        get => _inner.NewLine;
#pragma warning disable CS8765 // the base property accepts null
        set => _inner.NewLine = value;
#pragma warning restore CS8765
    }

    /// <inheritdoc/>
    public override void Write(char value)
    {
        lock (_gate)
        {
            _line.Append(value);
            if (value == '\n')
            {
                EmitLine();
            }
        }
    }

    /// <inheritdoc/>
    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return;
        }
        lock (_gate)
        {
            var start = 0;
            int nl;
            while ((nl = value.IndexOf('\n', start)) >= 0)
            {
                _line.Append(value, start, nl - start + 1);
                EmitLine();
                start = nl + 1;
            }
            _line.Append(value, start, value.Length - start);
        }
    }

    /// <inheritdoc/>
    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    /// <inheritdoc/>
    public override void WriteLine(string? value) => Write((value ?? "") + CoreNewLineStr());

    /// <inheritdoc/>
    public override void Flush()
    {
        lock (_gate)
        {
            if (_line.Length > 0)
            {
                _inner.Write(SecretRedaction.Redact(_line.ToString()));
                _line.Clear();
            }
            _inner.Flush();
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }
        base.Dispose(disposing);
    }

    private string CoreNewLineStr() => new(CoreNewLine);

    private void EmitLine()
    {
        _inner.Write(SecretRedaction.Redact(_line.ToString()));
        _line.Clear();
    }
}
