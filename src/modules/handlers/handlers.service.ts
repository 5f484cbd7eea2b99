import { BadRequestException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { CIRCUIT_DEFAULTS } from '../../common/circuit-defaults';
import {
  assertCallbackUrlAllowed,
  describeRefusal,
  networkPolicyOf,
} from '../../common/network-policy';
import {
  decodeCursor,
  DEFAULT_PAGE_LIMIT,
  encodeCursor,
  PageQueryDto,
} from '../../common/page-query';
import { CATE_PATTERN } from '../../common/task-fields';
import { maskUrlSecrets } from '../../common/url-secrets';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DeleteHandlerResult, HandlerPage, HandlerView, RegisterHandlerDto } from './handlers.dto';
import { HandlerRow, HandlersRepository, RateLimitSetting } from './handlers.repository';
import { maskSecret } from './webhook-secret';

const CURSOR_KIND = 'cate';

@Injectable()
export class HandlersService {
  private readonly logger = new Logger(HandlersService.name);

  constructor(
    private readonly handlers: HandlersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Registers or replaces the category's handler and the settings given; pending tasks follow
   * it at delivery time.
   */
  async register(cate: string, body: RegisterHandlerDto): Promise<void> {
    const url = body.handler;
    assertCallbackUrlAllowed(url, this.config); // literal IPs now; host names at delivery
    this.assertEventsHandlerAllowed(body.eventsHandler);
    await this.handlers.upsert(cate, url, {
      maxAttempts: body.maxAttempts,
      timeoutMs: body.timeoutMs,
      concurrency: body.concurrency,
      secret: body.secret,
      circuitBreaker:
        body.circuitBreaker === undefined ||
        body.circuitBreaker === null ||
        body.circuitBreaker === false
          ? body.circuitBreaker
          : {
              failureThreshold: body.circuitBreaker.failureThreshold ?? null,
              cooldownMs: body.circuitBreaker.cooldownMs ?? null,
            },
      rateLimit: rateLimitOf(body.rateLimit),
      eventsHandler: body.eventsHandler,
    });
  }

  /** As the handler's: a literal IP host the network policy refuses is a 400 naming the field. */
  private assertEventsHandlerAllowed(url: string | null | undefined): void {
    if (!url) return;
    const verdict = networkPolicyOf(this.config).checkUrl(url);
    if (!verdict.allowed) {
      throw new BadRequestException(`eventsHandler address ${describeRefusal(verdict)}`);
    }
  }

  async pause(cate: string): Promise<HandlerView> {
    if (!(await this.handlers.pause(cate))) throw new NotFoundException('not found');
    this.logger.log(`category ${cate} paused`);
    return this.get(cate);
  }

  async resume(cate: string): Promise<HandlerView> {
    if (!(await this.handlers.resume(cate))) throw new NotFoundException('not found');
    this.logger.log(`category ${cate} resumed (circuit closed)`);
    return this.get(cate);
  }

  async get(cate: string): Promise<HandlerView> {
    const row = await this.handlers.find(cate);
    if (!row) throw new NotFoundException('not found');
    return toView(row);
  }

  async list(query: PageQueryDto): Promise<HandlerPage> {
    const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
    const after =
      query.cursor === undefined
        ? undefined
        : decodeCursor(query.cursor, CURSOR_KIND, CATE_PATTERN);
    const rows = await this.handlers.list(after, limit);
    const last = rows.length === limit ? rows[rows.length - 1] : undefined;
    return {
      items: rows.map(toView),
      nextCursor: last ? encodeCursor(CURSOR_KIND, last.cate) : null,
    };
  }

  /**
   * Removes the category. Its tasks stay: one without its own handler fails its attempts with
   * no_handler (and is retried) until the category is registered again or its attempts run out.
   */
  async remove(cate: string): Promise<DeleteHandlerResult> {
    return { deleted: await this.handlers.delete(cate) };
  }
}

/** The limit to store: burst defaults to max(1, floor(perSecond)). */
function rateLimitOf(
  setting: { perSecond: number; burst?: number } | null | undefined,
): RateLimitSetting | null | undefined {
  if (setting === undefined || setting === null) return setting;
  const { perSecond } = setting;
  return { perSecond, burst: setting.burst ?? Math.max(1, Math.floor(perSecond)) };
}

function toView(row: HandlerRow): HandlerView {
  return {
    cate: row.cate,
    // Credentials in the URL are not shown back; delivery reads the stored URL.
    handler: maskUrlSecrets(row.url),
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    concurrency: row.concurrency,
    secrets: row.secrets.map((secret) => ({ prefix: maskSecret(secret) })),
    paused: row.paused,
    circuitBreaker: row.circuit_enabled
      ? {
          failureThreshold: row.circuit_threshold ?? CIRCUIT_DEFAULTS.failureThreshold,
          cooldownMs: row.circuit_cooldown_ms ?? CIRCUIT_DEFAULTS.cooldownMs,
        }
      : false,
    circuit: {
      state: row.circuit_state,
      openedAt: row.circuit_opened_at?.toISOString() ?? null,
      consecutiveFailures: row.circuit_failures,
      nextProbeAt: row.circuit_next_probe_at?.toISOString() ?? null,
    },
    rateLimit:
      row.rate_per_second === null || row.rate_burst === null
        ? null
        : { perSecond: row.rate_per_second, burst: row.rate_burst },
    eventsHandler: row.events_handler === null ? null : maskUrlSecrets(row.events_handler),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
