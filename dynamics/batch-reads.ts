/**
 * GETs sent as `$batch` requests: as few round trips as Dataverse's limits allow, each part's nextLinks followed
 * in further batches, a part throttled inside a batch sent again after its Retry-After.
 */
import type { Annotation, RawRecord } from './record';
import {
  buildBatch,
  batchPartSize,
  parseBatchResponse,
  MAX_BATCH_BODY_CHARS,
  MAX_BATCH_PARTS,
  type BatchGet,
} from './batch';
import { parseRetryAfter } from './backoff-gate';
import { DynamicsError } from './errors';
import { MAX_PAGE_SIZE, parsePage, preferHeader } from './odata';
import { describeRequest, errorForResponse } from './response-errors';
import { MAX_THROTTLED_REPEATS, type WebApiTransport } from './transport';

/** One GET still to be sent: a query's first page (an id chunk, a small table) or a nextLink of it. */
export interface PendingGet {
  /** The index of the query whose rows it reads. */
  query: number;
  url: string;
  throttled: number;
  annotations: readonly Annotation[];
}

const THROTTLED_PART_RETRY_AFTER_MS = 5000;

export class BatchReads {
  constructor(
    private readonly apiBase: string,
    private readonly transport: WebApiTransport,
    /** The URL a link is sent to (refusing another origin: the token goes with it). */
    private readonly ownUrl: (link: string) => string,
  ) {}

  /** Every row of every query, in the order of the queries (`queries` of them). */
  async run(pending: PendingGet[], queries: number): Promise<RawRecord[][]> {
    const results: RawRecord[][] = Array.from({ length: queries }, () => []);
    let round = pending;
    while (round.length > 0) {
      const next: PendingGet[] = [];
      for (const batch of packBatches(round, (get) => partOf(get.url, get.annotations))) {
        next.push(...(await this.runBatch(batch, results)));
      }
      round = next;
    }
    return results;
  }

  /** Sends one $batch, adds each part's rows to `results`, and returns the GETs still to do (nextLinks). */
  private async runBatch(batch: PendingGet[], results: RawRecord[][]): Promise<PendingGet[]> {
    const { contentType, body } = buildBatch(
      batch.map((get) => partOf(this.ownUrl(get.url), get.annotations)),
    );
    const response = await this.transport.send({
      method: 'POST',
      url: `${this.apiBase}$batch`,
      // continue-on-error: every part answers, so a failed part is reported with its own status and code.
      headers: { 'Content-Type': contentType, Prefer: 'odata.continue-on-error' },
      body,
    });
    const answers = parseBatchResponse(response.headers['content-type'], response.body);
    const next: PendingGet[] = [];
    batch.forEach((get, index) => {
      const answer = answers[index];
      const request = describeRequest('GET', get.url);
      if (answer === undefined) {
        const failed = answers.find((part) => part.status >= 300);
        throw failed
          ? errorForResponse(failed, request)
          : new DynamicsError(
              'INVALID_RESPONSE',
              `$batch answered ${answers.length} of ${batch.length} requests`,
            );
      }
      if (answer.status === 429) {
        // Throttled inside the batch: hold this org for Retry-After and send the part again in the next round.
        const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], THROTTLED_PART_RETRY_AFTER_MS);
        this.transport.holdFor(retryAfterMs);
        if (get.throttled >= MAX_THROTTLED_REPEATS) {
          throw new DynamicsError(
            'THROTTLED',
            `Still throttled after ${MAX_THROTTLED_REPEATS} waits (${request})`,
            {
              status: 429,
              retryAfterMs,
            },
          );
        }
        next.push({ ...get, throttled: get.throttled + 1 });
        return;
      }
      if (answer.status < 200 || answer.status >= 300) throw errorForResponse(answer, request);
      const page = parsePage(answer.body, request);
      results[get.query]!.push(...page.records);
      if (page.nextLink !== undefined) next.push({ ...get, url: page.nextLink, throttled: 0 });
    });
    return next;
  }
}

function partOf(url: string, annotations: readonly Annotation[]): BatchGet {
  return {
    url,
    headers: { Accept: 'application/json', Prefer: preferHeader(MAX_PAGE_SIZE, false, annotations) },
  };
}

/** Packs GETs into batches within the part-count and body-size limits, keeping their order. */
function packBatches(gets: PendingGet[], partOf: (get: PendingGet) => BatchGet): PendingGet[][] {
  const batches: PendingGet[][] = [];
  let current: PendingGet[] = [];
  let size = 0;
  for (const get of gets) {
    const partSize = batchPartSize(partOf(get));
    if (current.length > 0 && (current.length >= MAX_BATCH_PARTS || size + partSize > MAX_BATCH_BODY_CHARS)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(get);
    size += partSize;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
