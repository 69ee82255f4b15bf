/*
 * Batched UDP I/O for the RADIUS hot path (Linux): recvmmsg(2) and sendmmsg(2) on
 * non-blocking sockets watched by libuv, behind a small Node-API surface.
 *
 * Why: with node:dgram every datagram costs a 64 KiB receive allocation, a callback into
 * JavaScript with its own microtask checkpoint, and one system call each way; measured, that
 * fixed cost was most of a proxied request's CPU. Here one readiness event reads up to
 * BATCH datagrams with one call, hands them to JavaScript in one callback (one Buffer, with
 * offsets), and the replies that JavaScript sends while handling them (including in the
 * promise jobs that run when the callback returns) leave together with one sendmmsg per
 * socket. Sends made outside a batch (timers, disk completions) are queued too and leave
 * together when JavaScript calls flush() from setImmediate, later in the same loop turn.
 *
 * JavaScript side: src/transport/batched-udp.ts. A send the kernel refuses with EAGAIN is
 * lost, as it would be on the wire (the kernel counts it in SndbufErrors); the peer retransmits.
 */
#include "udp_batch.h"

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

sock_t *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (sock_t *)p;
}

int to_sockaddr(int family, const char *address, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &a->sin_addr) != 1) return -EINVAL;
    *len = sizeof(*a);
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return -EINVAL;
    *len = sizeof(*a);
  }
  return 0;
}

/* An (address string, port number) pair of JavaScript values as a sockaddr of the socket's family. */
static int parse_address(napi_env env, sock_t *s, napi_value address_value, napi_value port_value, struct sockaddr_storage *ss, socklen_t *len) {
  char address[INET6_ADDRSTRLEN + 1];
  size_t n = 0;
  int32_t port = 0;
  if (napi_get_value_string_latin1(env, address_value, address, sizeof(address), &n) != napi_ok) return -EINVAL;
  if (napi_get_value_int32(env, port_value, &port) != napi_ok) return -EINVAL;
  return to_sockaddr(s->family, address, port, ss, len);
}

static void flush(sock_t *s) {
  int sent = 0;
  while (sent < s->scount) {
    int n = sendmmsg(s->fd, s->smsgs + sent, (unsigned)(s->scount - sent), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN (buffer full) or an ICMP error on a connected socket: this datagram is lost, as
         it would be on the wire; the peer retransmits. Skip it and go on with the rest. */
      sent += 1;
      continue;
    }
    sent += n;
  }
  s->scount = 0;
  s->sused = 0;
}

static void flush_pending(instance_t *inst) {
  while (inst->pending) {
    sock_t *s = inst->pending;
    inst->pending = s->next_pending;
    s->next_pending = NULL;
    s->in_pending = 0;
    if (!s->closed) flush(s);
  }
  inst->flush_requested = 0;
}

static napi_value peer_string(napi_env env, sock_t *s, struct sockaddr_storage *ss) {
  napi_value str;
  size_t cmp = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  /* Compare the address only: zero the ports of a scratch copy. */
  if (s->last_peer_string && s->last_peer.ss_family == ss->ss_family) {
    int same;
    if (ss->ss_family == AF_INET)
      same = ((struct sockaddr_in *)&s->last_peer)->sin_addr.s_addr == ((struct sockaddr_in *)ss)->sin_addr.s_addr;
    else
      same = memcmp(&((struct sockaddr_in6 *)&s->last_peer)->sin6_addr, &((struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0;
    if (same && napi_get_reference_value(env, s->last_peer_string, &str) == napi_ok && str) return str;
  }
  char text[INET6_ADDRSTRLEN];
  if (ss->ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, text, sizeof(text));
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr, text, sizeof(text));
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &str);
  if (s->last_peer_string) napi_delete_reference(env, s->last_peer_string);
  napi_create_reference(env, str, 1, &s->last_peer_string);
  memcpy(&s->last_peer, ss, cmp);
  return str;
}

static void deliver(sock_t *s, int n) {
  napi_env env = s->env;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += s->rmsgs[i].msg_len;
  void *dst = NULL;
  napi_value data, addrs, cb, resource, argv[2];
  if (napi_create_buffer(env, total, &dst, &data) != napi_ok) return;
  napi_get_reference_value(env, s->addrs_ref, &addrs);
  uint32_t offset = 0;
  int k = 0;
  for (int i = 0; i < n; i++) {
    struct mmsghdr *m = &s->rmsgs[i];
    memcpy((unsigned char *)dst + offset, s->rbuf[i], m->msg_len);
    struct sockaddr_storage *ss = &s->raddr[i];
    int port = ss->ss_family == AF_INET ? ntohs(((struct sockaddr_in *)ss)->sin_port) : ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
    s->meta[k * META_WORDS] = offset;
    s->meta[k * META_WORDS + 1] = m->msg_len;
    s->meta[k * META_WORDS + 2] = (uint32_t)port;
    napi_set_element(env, addrs, (uint32_t)k, peer_string(env, s, ss));
    offset += m->msg_len;
    k++;
  }
  if (k == 0) return;
  napi_get_reference_value(env, s->on_batch, &cb);
  napi_get_reference_value(env, s->resource, &resource);
  argv[0] = data;
  argv[1] = make_int(env, k);
  napi_callback_scope scope;
  s->inst->depth++;
  napi_open_callback_scope(env, resource, s->async_ctx, &scope);
  if (napi_call_function(env, resource, cb, 2, argv, NULL) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  /* Closing the outermost scope runs process.nextTick callbacks and promise jobs. */
  napi_close_callback_scope(env, scope);
  s->inst->depth--;
  if (s->inst->depth == 0) flush_pending(s->inst);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  sock_t *s = (sock_t *)handle;
  (void)events;
  if (s->closed) return;
  if (status < 0) {
    /* An ICMP error (port unreachable on a connected socket) shows as POLLERR, on which
       libuv stops the watcher: clear the error and watch again, the socket is fine. */
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
  }
  napi_handle_scope hs;
  napi_open_handle_scope(s->env, &hs);
  for (int round = 0; round < MAX_ROUNDS && !s->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      s->rmsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      s->rmsgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->rmsgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN: drained. Anything else (an ICMP error on a connected socket) is reported by
         the kernel once and cleared: read on. */
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      continue;
    }
    if (n == 0) break;
    deliver(s, n);
    if (n < BATCH) break;
  }
  napi_close_handle_scope(s->env, hs);
}

/* JavaScript may hold a closed socket's handle (a spool commit names its reply's socket), so
   the record is freed only once the socket is released and the handle collected. */
static void free_if_unreachable(sock_t *s) {
  if (s->released && !s->handle_alive) free(s);
}

static void release_sock(sock_t *s) {
  napi_env env = s->env;
  close(s->fd);
  s->fd = -1;
  napi_delete_reference(env, s->on_batch);
  napi_delete_reference(env, s->resource);
  napi_delete_reference(env, s->meta_ref);
  napi_delete_reference(env, s->addrs_ref);
  if (s->last_peer_string) napi_delete_reference(env, s->last_peer_string);
  napi_async_destroy(env, s->async_ctx);
  s->released = 1;
  free_if_unreachable(s);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sock_t *s = (sock_t *)data;
  s->handle_alive = 0;
  free_if_unreachable(s);
}

static void on_closed(uv_handle_t *handle) {
  sock_t *s = (sock_t *)handle;
  if (s->users > 0)
    s->close_deferred = 1;
  else
    release_sock(s);
}

void sock_unuse(sock_t *s) {
  if (--s->users == 0 && s->close_deferred) release_sock(s);
}

/* open(family: 4|6, onBatch(data, count), meta: Uint32Array, addresses: string[]) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], resource, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fam = 0;
  CHECK(napi_get_value_int32(env, argv[0], &fam));
  napi_typedarray_type type;
  size_t length = 0;
  void *meta = NULL;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &length, &meta, NULL, NULL));
  if (type != napi_uint32_array || length < BATCH * META_WORDS) {
    napi_throw_range_error(env, NULL, "meta must be a Uint32Array of BATCH * 3 words");
    return NULL;
  }
  instance_t *inst = NULL;
  CHECK(napi_get_instance_data(env, (void **)&inst));
  sock_t *s = calloc(1, sizeof(sock_t));
  if (!s) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  s->family = fam == 6 ? AF_INET6 : AF_INET;
  s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    int e = errno;
    free(s);
    napi_throw_error(env, NULL, strerror(e));
    return NULL;
  }
  if (s->family == AF_INET6) {
    /* Like node:dgram's ipv6Only: a [::] listener does not take IPv4 datagrams. */
    int one = 1;
    setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  s->env = env;
  s->inst = inst;
  s->meta = meta;
  for (int i = 0; i < BATCH; i++) {
    s->riov[i].iov_base = s->rbuf[i];
    s->riov[i].iov_len = READ_SIZE;
    s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsgs[i].msg_hdr.msg_iovlen = 1;
    s->rmsgs[i].msg_hdr.msg_name = &s->raddr[i];
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init_socket(loop, &s->poll, s->fd);
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_batch));
  CHECK(napi_create_reference(env, argv[2], 1, &s->meta_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &s->addrs_ref));
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_reference(env, resource, 1, &s->resource));
  CHECK(napi_create_string_latin1(env, "aaaproxy:udp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &s->async_ctx));
  napi_value handle;
  CHECK(napi_create_external(env, s, finalize_handle, NULL, &handle));
  s->handle_alive = 1;
  return handle;
}

/* The (handle, address, port) arguments of bind and connect: the socket and the sockaddr, or -errno. */
static int endpoint_args(napi_env env, napi_callback_info info, sock_t **s, struct sockaddr_storage *ss, socklen_t *len) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return -EINVAL;
  *s = get_sock(env, argv[0]);
  if (!*s) return -EBADF;
  return parse_address(env, *s, argv[1], argv[2], ss, len);
}

/* bind(handle, address, port) -> bound port, or -errno */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  sock_t *s;
  struct sockaddr_storage ss;
  socklen_t len;
  int r = endpoint_args(env, info, &s, &ss, &len);
  if (r < 0) return make_int(env, r);
  if (bind(s->fd, (struct sockaddr *)&ss, len) < 0) return make_int(env, -errno);
  len = sizeof(ss);
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) return make_int(env, -errno);
  int bound = s->family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return make_int(env, bound);
}

/* connect(handle, address, port) -> 0 or -errno */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  sock_t *s;
  struct sockaddr_storage ss;
  socklen_t len;
  int r = endpoint_args(env, info, &s, &ss, &len);
  if (r < 0) return make_int(env, r);
  if (connect(s->fd, (struct sockaddr *)&ss, len) < 0) return make_int(env, -errno);
  return make_int(env, 0);
}

/* setReceiveBuffer(handle, bytes) -> 0 or -errno */
static napi_value js_set_receive_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  int32_t bytes = 0;
  if (!s || napi_get_value_int32(env, argv[1], &bytes) != napi_ok) return make_int(env, -EINVAL);
  if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) return make_int(env, -errno);
  return make_int(env, 0);
}

/* start(handle): begin reading. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->closed) return make_int(env, -EBADF);
  return make_int(env, uv_poll_start(&s->poll, UV_READABLE, on_readable));
}

/*
 * send(handle, buf, address|null, port) -> 0, 1 or -errno. The datagram is copied to the
 * socket's queue. Inside a batch the queue is sent when the batch ends; outside one (a timer,
 * a disk write completing), 1 asks the caller to call flush() soon (setImmediate), so that
 * the sends of one event-loop turn leave together. A send the kernel then refuses is lost
 * like a datagram on the wire.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->closed) return make_int(env, -EBADF);
  void *data = NULL;
  size_t length = 0;
  if (napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) return make_int(env, -EINVAL);
  if (length > MAX_DATAGRAM) return make_int(env, -EMSGSIZE);
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  struct sockaddr_storage ss;
  socklen_t len = 0;
  if (t == napi_string) {
    int r = parse_address(env, s, argv[2], argv[3], &ss, &len);
    if (r < 0) return make_int(env, r);
  }
  if (s->scount == BATCH || s->sused + length > SEND_ARENA) flush(s);
  int i = s->scount++;
  memcpy(s->sarena + s->sused, data, length);
  s->siov[i].iov_base = s->sarena + s->sused;
  s->siov[i].iov_len = length;
  s->sused += length;
  struct msghdr *h = &s->smsgs[i].msg_hdr;
  memset(h, 0, sizeof(*h));
  h->msg_iov = &s->siov[i];
  h->msg_iovlen = 1;
  if (len) {
    memcpy(&s->saddr[i], &ss, len);
    h->msg_name = &s->saddr[i];
    h->msg_namelen = len;
  }
  if (!s->in_pending) {
    s->in_pending = 1;
    s->next_pending = s->inst->pending;
    s->inst->pending = s;
  }
  if (s->inst->depth > 0 || s->inst->flush_requested) return make_int(env, 0);
  s->inst->flush_requested = 1;
  return make_int(env, 1);
}

/* flush(): sends every queued datagram of every socket. */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  (void)info;
  instance_t *inst = NULL;
  CHECK(napi_get_instance_data(env, (void **)&inst));
  flush_pending(inst);
  return NULL;
}

/* close(handle): stops reading, sends what is queued, releases the socket. Idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s || s->closed) return NULL;
  if (s->scount) flush(s);
  s->closed = 1;
  /* Unlink from the pending list (flush_pending skips closed sockets, but must not reach freed memory). */
  for (sock_t **p = &s->inst->pending; *p; p = &(*p)->next_pending) {
    if (*p == s) {
      *p = s->next_pending;
      break;
    }
  }
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_closed);
  return NULL;
}

static void free_instance(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

NAPI_MODULE_INIT() {
  instance_t *inst = calloc(1, sizeof(instance_t));
  napi_set_instance_data(env, inst, free_instance, NULL);
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, js_bind, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"setReceiveBuffer", NULL, js_set_receive_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value batch;
  napi_create_int32(env, BATCH, &batch);
  napi_set_named_property(env, exports, "BATCH", batch);
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  register_durable_commit(env, exports);
  return exports;
}
