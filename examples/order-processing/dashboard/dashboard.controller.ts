import { Controller, Get, Header, Param, Redirect } from '@nestjs/common';
import { DASHBOARD_ROUTE } from './dashboard.module.js';
import { EntityBoard } from './entity-board.js';

/** Entities listed per page of `GET /dashboard/entities/:type`. */
const LISTED = 200;

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * `GET /dashboard/entities/:type`: the type's entities (most pending jobs first), each a link to
 * `GET /dashboard/entities/:type/:id`, which puts the entity's queue on bull-board and opens its page there.
 */
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly board: EntityBoard) {}

  @Get('entities/:type')
  @Header('content-type', 'text/html; charset=utf-8')
  async entities(@Param('type') type: string): Promise<string> {
    const { total, entities } = await this.board.entities(type, LISTED);
    const t = escapeHtml(type);
    const rows = entities
      .map((e) => `<tr><td><a href="/dashboard/entities/${encodeURIComponent(type)}/${encodeURIComponent(e.entityId)}">${escapeHtml(e.entityId)}</a></td><td>${e.pending}</td></tr>`)
      .join('\n');
    return `<!doctype html>
<html><head><title>${t} entities</title></head>
<body>
<h1>${t} entities</h1>
<p>${total} ${t} entit${total === 1 ? 'y' : 'ies'}${total > entities.length ? `; the ${entities.length} with the most pending jobs` : ''}. Open one on <a href="${DASHBOARD_ROUTE}">bull-board</a>:</p>
<table><thead><tr><th>entity</th><th>pending jobs</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
  }

  @Get('entities/:type/:id')
  @Redirect()
  async entity(@Param('type') type: string, @Param('id') id: string): Promise<{ url: string; statusCode: number }> {
    const queueName = await this.board.show(type, id);
    return { url: `${DASHBOARD_ROUTE}/queue/${encodeURIComponent(queueName)}`, statusCode: 302 };
  }

  /** The entity queues on the board now (at most `maxQueues`), least recently looked up first. */
  @Get('queues')
  queues(): { queues: string[] } {
    return { queues: this.board.queueNames };
  }
}
