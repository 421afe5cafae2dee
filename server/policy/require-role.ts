/** Who may do what: role checks as Express middleware. */
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors.js';
import { hasRole } from '../identity/index.js';

/** 401 for an anonymous caller (so a browser or client asks for credentials), 403 for one who lacks the role. */
export function requireRole(role: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const identity = req.identity;
    if (identity && hasRole(identity, role)) return next();
    if (!identity || identity.via === 'anonymous') return next(new UnauthorizedError('authentication required'));
    next(new ForbiddenError(`${role} required`));
  };
}
