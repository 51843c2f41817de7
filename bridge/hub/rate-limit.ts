/**
 * A token bucket: `capacity` tokens, refilled continuously at `perSecond`. `take(n)` spends n
 * tokens if there are that many and says whether it could. Used per connection for messages,
 * bytes and error replies, and per remote address for failed authentications.
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

  /** Whether the bucket has refilled to capacity by `nowMs`. */
  full(nowMs: number): boolean {
    return this.tokens + ((nowMs - this.last) / 1000) * this.perSecond >= this.capacity;
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

/**
 * Token buckets per key (a remote address), created full on first use. At most `maxKeys` are
 * kept; when full, buckets that have refilled completely are dropped first (they carry no state),
 * then the oldest.
 */
export class AddressBuckets {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(perSecond: number, burst: number, maxKeys = 4096) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.maxKeys = maxKeys;
  }

  take(key: string, nowMs: number): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune(nowMs);
      b = new TokenBucket(this.perSecond, this.burst, nowMs);
      this.buckets.set(key, b);
    }
    return b.take(1, nowMs);
  }

  private prune(nowMs: number): void {
    for (const [k, b] of this.buckets) if (b.full(nowMs)) this.buckets.delete(k);
    while (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
