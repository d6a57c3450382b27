/**
 * Every error the ingress answers is an RFC 9457 problem+json body with a catalog code; a 400
 * names the request part and the field that failed. No stack traces reach a client.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorCatalog, isProxyhubError, retryAfterOf, type ErrorCode } from '../../contracts/errors.ts';
import { PROBLEM_CONTENT_TYPE, problemTypeUri, type Problem } from '../../contracts/http/problem.ts';

type FieldError = NonNullable<Problem['errors']>[number];

/**
 * Sets the catalog's Retry-After for a code that has one. A value already on the reply wins: the
 * rate limiter sets the seconds left in its window, which the catalog only bounds.
 */
export function setRetryAfter(reply: FastifyReply, code: ErrorCode): void {
  const seconds = retryAfterOf(code);
  if (seconds !== undefined && !reply.hasHeader('retry-after')) reply.header('retry-after', String(seconds));
}

/**
 * Answers a problem+json body for a catalog code. `extensions` are extra members a client of an
 * API we stand in for reads (smart_proxy_dynflow's `error`); the standard members win over them.
 */
export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, errors?: FieldError[], extensions: Readonly<Record<string, unknown>> = {}): FastifyReply {
  const entry = errorCatalog[code];
  setRetryAfter(reply, code);
  // Read by the listener's metrics: the cause of a 503.
  reply.problemCode = code;
  const problem: Problem = {
    type: problemTypeUri(code),
    title: entry.title,
    status: entry.status,
    code,
    detail,
    instance: reply.request.url,
    ...(errors === undefined ? {} : { errors }),
  };
  return reply.code(entry.status).type(PROBLEM_CONTENT_TYPE).send({ ...extensions, ...problem });
}

const LOCATIONS = new Set<FieldError['location']>(['body', 'params', 'querystring', 'headers']);

function validationErrors(error: FastifyError): FieldError[] {
  const context = error.validationContext;
  const location = context !== undefined && LOCATIONS.has(context) ? context : 'body';
  return (error.validation ?? []).map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return { location, field: path === '' ? location : path, message: issue.message ?? 'invalid' };
  });
}

/** Maps fastify's own errors (body parsing, limits, validation) and ours to problem bodies. */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const errors = validationErrors(error);
    const first = errors[0];
    return sendProblem(reply, 'PROXYHUB_INPUT_INVALID', first ? `${first.location} ${first.field}: ${first.message}` : 'request is invalid', errors);
  }
  if (isProxyhubError(error)) {
    const field = error.field;
    const location = (error as { location?: FieldError['location'] }).location ?? 'body';
    return sendProblem(reply, error.code, error.message, field === undefined ? undefined : [{ location, field, message: error.message }]);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 'PROXYHUB_INPUT_TOO_LARGE', 'request body is over the limit for this route', [{ location: 'body', field: 'body', message: error.message }]);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendProblem(reply, 'PROXYHUB_INPUT_MALFORMED', 'request body does not match its Content-Length', [{ location: 'headers', field: 'content-length', message: error.message }]);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 'PROXYHUB_INPUT_MEDIA_TYPE', `unsupported content type ${request.headers['content-type'] ?? '(none)'}`, [{ location: 'headers', field: 'content-type', message: 'unsupported media type' }]);
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendProblem(reply, 'PROXYHUB_INPUT_INVALID', `the request path cannot be routed: ${error.message}`, [{ location: 'params', field: 'path', message: error.message }]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 'PROXYHUB_INPUT_MALFORMED', 'request body is empty', [{ location: 'body', field: 'body', message: 'empty body' }]);
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendProblem(reply, 'PROXYHUB_INPUT_MALFORMED', 'request body is not valid JSON', [{ location: 'body', field: 'body', message: error.message }]);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return sendProblem(reply, 'PROXYHUB_INPUT_INVALID', error.message);
  }
  request.log.error({ err: error }, 'unexpected error');
  return sendProblem(reply, 'PROXYHUB_INTERNAL', 'internal error; see the proxyhub log');
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, 'PROXYHUB_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
}
