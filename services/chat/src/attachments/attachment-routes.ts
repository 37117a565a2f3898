// The two attachment endpoints. They read and write raw bytes, not JSON, so they are
// mounted as the kit's streaming routes (before its JSON body rules and outside the
// request deadline) rather than from the JSON route catalogue; errors still go to the
// one error middleware.
import { Router, type NextFunction, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import {
  PayloadTooLargeError,
  answerTooLarge,
  getAuth,
  requireAuth,
  type TokenVerifier,
} from '@parley/server-kit';
import type { ChatServices } from '../chat-services';
import {
  downloadHeaders,
  findReadableAttachment,
  matchesEtag,
  requestedRange,
} from './attachment-download';
import { uploadAttachment } from './attachment-upload';

export const ATTACHMENT_PATHS = ['/chat/attachments'] as const;

export function createAttachmentRouter(services: ChatServices, verifier: TokenVerifier): Router {
  const router = Router();
  const auth = requireAuth(verifier);

  router.post('/chat/attachments', auth, (req: Request, res: Response, next: NextFunction) => {
    uploadAttachment(
      { store: services.attachments, settings: services.attachmentSettings, now: services.now },
      { caller: getAuth(res), request: req },
    ).then(
      (attachment) => {
        res.status(201).json({ attachment });
      },
      (err: unknown) => {
        // too large while reading: answer now, while the rest is still arriving
        if (err instanceof PayloadTooLargeError) answerTooLarge(req, res);
        else next(err);
      },
    );
  });

  router.get('/chat/attachments/:id', auth, async (req: Request, res: Response) => {
    const doc = await findReadableAttachment(services, getAuth(res), String(req.params.id));
    const headers = downloadHeaders(doc);
    res.set(headers);
    if (matchesEtag(req.get('if-none-match'), headers.ETag ?? '')) {
      res.status(304).end();
      return;
    }
    // If-Range with another ETag: the client's copy is stale, so it gets the whole file
    const ifRange = req.get('if-range');
    const rangeHeader =
      ifRange === undefined || ifRange === headers.ETag ? req.get('range') : undefined;
    const range = requestedRange(rangeHeader, doc.length);
    const { start, end } = range === 'whole' ? { start: 0, end: doc.length } : range;
    if (range !== 'whole') {
      res.status(206).set('Content-Range', `bytes ${start}-${end - 1}/${doc.length}`);
    }
    res.set('Content-Length', String(end - start));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // a failure mid-stream can only cut the response: its headers are gone
    await pipeline(services.attachments.openDownload(doc._id, { start, end }), res).catch(
      () => undefined,
    );
  });

  return router;
}
