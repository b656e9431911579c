/* Ls-1.0-custom.vala: declarations vapigen cannot derive from Ls-1.0.gir
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See Ls-1.0.metadata. tests/vala/check-vapi-types.py fails if a member of
 * LsSocketError is missing here.
 */
namespace Ls {
	/**
	 * The codes of the {@link Ls.SocketError} domain as a value type: what
	 * {@link Ls.LocalSocket.get_error}, {@link Ls.LocalServer.get_server_error}
	 * and {@link Ls.LocalSocket.error_occurred} give. The C type is
	 * LsSocketError; each value equals the code of the same name in
	 * {@link Ls.SocketError}.
	 */
	[CCode (cheader_filename = "ls/ls.h", cname = "LsSocketError", cprefix = "LS_SOCKET_ERROR_", type_id = "ls_socket_error_get_type ()")]
	[Version (since = "1.2")]
	public enum SocketErrorCode {
		UNKNOWN,
		CONNECTION_REFUSED,
		PEER_CLOSED,
		SERVER_NOT_FOUND,
		SOCKET_ACCESS,
		SOCKET_RESOURCE,
		SOCKET_TIMEOUT,
		DATAGRAM_TOO_LARGE,
		CONNECTION,
		ADDRESS_IN_USE,
		UNSUPPORTED_SOCKET_OPERATION,
		OPERATION
	}
}
