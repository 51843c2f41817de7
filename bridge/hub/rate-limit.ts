/**
 * A token bucket: `capacity` tokens, refilled continuously at `perSecond`. `take(n)` spends n
 * tokens if there are that many and says whether it could. Used per connection for messages,
 * bytes and error replies.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly perSecond: number;
  private tokens: number;
  private last: number;

  constructor(perSecond: number, capacity: number, nowMs: number) {
    if (!(perSecond > 0) || !(capacity > 0)) throw new RangeError(`token bucket needs positive rate and capacity (got ${perSecond}/s, ${capacity})`);
    this.perSecond = perSecond;
    this.capacity = capacity;
    this.tokens = capacity;
    this.last = nowMs;
  }

  take(n: number, nowMs: number): boolean {
    const dt = nowMs - this.last;
    if (dt > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (dt / 1000) * this.perSecond);
      this.last = nowMs;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
