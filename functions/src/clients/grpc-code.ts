/** The gRPC status code an official Google client's error carries (`GrpcStatus` / `Status`), if any. */
export function grpcCode(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "code" in error ? Number((error as { code: unknown }).code) : undefined;
}
