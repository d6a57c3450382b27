/** A resource the composition root closes at shutdown, in reverse order of starting. */
export type Closer = { readonly name: string; close(): Promise<unknown> };
