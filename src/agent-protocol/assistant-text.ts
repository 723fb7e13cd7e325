/**
 * The host's `assistant` agent events as an append-only text stream, which is all a `response` chunk
 * sequence can carry (callers concatenate them, §6.3).
 *
 * An event carries a `delta`, a `text` snapshot of the current message, or both, and an `itemId` per
 * assistant message (a turn with a tool call has one message before the call and one after; they are
 * joined with a blank line, as the host's own OpenAI-compatible stream does). A snapshot that rewrites
 * text already sent (`replace`) cannot be taken back on the wire: the stream then stops growing, and
 * the turn's final reply decides what is appended at the end.
 */
export class AssistantText {
  private text = "";
  private sent = "";
  private item: string | undefined;
  private prefix = "";
  private itemText = "";
  private rewritten = false;

  /** Everything put on the wire so far. */
  get streamed(): string {
    return this.sent;
  }

  /** True once the host rewrote text that had already been sent. */
  get diverged(): boolean {
    return this.rewritten;
  }

  /** One `assistant` event's `data`; returns the text to send now ("" for none). */
  push(data: Record<string, unknown>): string {
    const snapshot = typeof data.text === "string" ? data.text : undefined;
    const delta = typeof data.delta === "string" ? data.delta : undefined;
    if (snapshot === undefined && delta === undefined) return "";
    const itemId = typeof data.itemId === "string" && data.itemId.length > 0 ? data.itemId : undefined;
    if (itemId !== this.item) {
      this.item = itemId;
      this.prefix = this.text;
      this.itemText = "";
    }
    this.itemText = snapshot ?? this.itemText + (delta ?? "");
    const separator = this.prefix.length > 0 && this.itemText.length > 0 && !this.prefix.endsWith("\n\n") ? "\n\n" : "";
    this.text = this.prefix + separator + this.itemText;
    return this.advance();
  }

  /**
   * The run is over and `finalText` is its reply as the host recorded it: returns what still has to be
   * sent so the caller ends up with that reply. Nothing more when the stream already holds it (also when
   * it ends a longer multi-message stream).
   */
  finish(finalText: string | undefined): string {
    if (finalText === undefined || finalText.length === 0) return "";
    if (this.sent.length === 0 || finalText.startsWith(this.sent)) {
      const rest = finalText.slice(this.sent.length);
      this.sent = finalText;
      return rest;
    }
    if (!this.sent.endsWith(finalText)) this.rewritten = true;
    return "";
  }

  private advance(): string {
    if (this.rewritten) return "";
    if (!this.text.startsWith(this.sent)) {
      this.rewritten = true;
      return "";
    }
    const add = this.text.slice(this.sent.length);
    this.sent = this.text;
    return add;
  }
}
