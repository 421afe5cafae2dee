/** The `Authorization` header's scheme and credentials, as the sources read them. */
export function authorizationScheme(header: string): string {
  const space = header.indexOf(' ');
  return (space < 0 ? header : header.slice(0, space)).toLowerCase();
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string): string {
  return header.slice(header.indexOf(' ') + 1).trim();
}

export function hasScheme(header: string | undefined, scheme: string): boolean {
  return header !== undefined && header !== '' && authorizationScheme(header) === scheme;
}
