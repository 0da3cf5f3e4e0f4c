// The error codes that mean a cloud API (AWS STS and EKS, Google's token service and GKE API) was
// never reached: the connection failed, not the call. One table for both clouds, so that EKS and
// GKE answer the same failure of the network with the same error.

/** Node's socket and DNS codes, undici's, and TLS failures (an untrusted or bad certificate). */
const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EPIPE|UND_ERR_.*|ERR_TLS.*|.*CERT.*)$/;

/** Whether an error code says the cloud API could not be reached. */
export function isNetworkFailure(code: string | undefined): code is string {
  return code !== undefined && NETWORK_CODES.test(code);
}
