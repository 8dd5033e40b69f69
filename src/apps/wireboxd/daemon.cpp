#include "apps/wireboxd/daemon.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>

#include "admin/admin_server.h"
#include "admin/admin_service.h"
#include "admin/data_dir_lock.h"
#include "assets/asset_service.h"
#include "assets/asset_store.h"
#include "assets/blob_directory.h"
#include "auth/api.h"
#include "auth/cookie_store.h"
#include "auth/session_service.h"
#include "auth/token_signer.h"
#include "calling/config/calling_service.h"
#include "clients/api.h"
#include "clients/client_store.h"
#include "conversations/api.h"
#include "conversations/conversation_store.h"
#include "core/log.h"
#include "deeplink/deeplink.h"
#include "http/router.h"
#include "http/server.h"
#include "http/system_routes.h"
#include "http/tls.h"
#include "messages/api.h"
#include "notifications/api.h"
#include "notifications/event_publisher.h"
#include "notifications/notification_store.h"
#include "storage/migrations.h"
#include "storage/sqlite.h"
#include "teams/api.h"
#include "teams/team_store.h"
#include "users/api.h"
#include "users/user_store.h"
#include "web/static_files.h"
#include "websocket/hub.h"

namespace wirebox {
namespace fs = std::filesystem;

struct Daemon::Impl {
  // First member, so released last: only once every file of the data directory is closed.
  std::optional<admin::DataDirLock> lock;
  Config config;
  std::function<void()> stop_request;
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<teams::TeamStore> teams;
  std::unique_ptr<users::UserStore> users;
  std::unique_ptr<auth::SessionService> sessions;
  std::unique_ptr<users::UsersApi> users_api;
  std::unique_ptr<notifications::LmdbNotificationStore> notifications;
  std::unique_ptr<websocket::Hub> hub;
  std::unique_ptr<notifications::EventPublisher> events;
  std::unique_ptr<clients::ClientStore> clients;
  std::unique_ptr<clients::ClientsApi> clients_api;
  std::unique_ptr<conversations::ConversationStore> conversations;
  std::unique_ptr<conversations::ConversationsApi> conversations_api;
  std::unique_ptr<assets::AssetStore> asset_store;
  std::unique_ptr<assets::BlobDirectory> blobs;
  std::unique_ptr<assets::AssetService> assets;
  http::Router router;
  std::unique_ptr<calling::CallingService> calling;
  std::unique_ptr<admin::AdminService> admin;
  std::unique_ptr<admin::AdminServer> admin_server;
  std::unique_ptr<http::Server> server;
};

Daemon::Daemon(Config config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  Impl& d = *impl_;
  const Config& c = d.config;
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) throw std::runtime_error("cannot create data directory " + c.data_dir + ": " + ec.message());
  fs::permissions(c.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto lock = admin::DataDirLock::try_acquire(c.data_dir);
  if (!lock) throw std::runtime_error(lock.error().message);
  d.lock.emplace(std::move(lock.value()));
  fs::remove_all(c.data_dir + "/backup-staging", ec);  // left by a daemon stopped during a backup

  d.db = std::make_unique<storage::Database>(c.data_dir + "/wirebox.db", c.workers);
  std::vector<storage::ModuleSchema> schemas = {auth::cookie_schema(), teams::team_schema(), users::user_schema(),
                                                 clients::client_schema(), conversations::conversation_schema(),
                                                 assets::asset_schema()};
  int ran = storage::apply_migrations(*d.db, schemas);
  if (ran > 0) log::info("storage", "applied migrations count=" + std::to_string(ran));

  http::ServerOptions so;
  so.address = c.listen_address;
  so.port = c.listen_port;
  if (c.cert_file.empty()) {
    auto paths = http::ensure_self_signed(c.data_dir + "/tls", {"localhost", c.domain, "127.0.0.1", "::1"});
    if (!paths) throw std::runtime_error(paths.error().message);
    so.tls = *paths;
  } else {
    so.tls = {c.cert_file, c.key_file};
  }
  so.loops = c.loops;
  so.workers = c.workers;
  so.max_body_bytes = c.max_body_bytes;
  so.max_connections = c.max_connections;
  so.idle_timeout_seconds = c.idle_timeout_seconds;
  so.cors_origins = c.cors_origins;
  if (so.cors_origins.empty()) {
    so.cors_origins = {"https://" + c.domain, "https://localhost:" + std::to_string(c.listen_port),
                       "https://127.0.0.1:" + std::to_string(c.listen_port)};
  }
  if (!c.metrics_listen.empty()) parse_listen(c.metrics_listen, so.metrics_address, so.metrics_port);

  fs::create_directories(c.data_dir + "/secrets", ec);
  fs::permissions(c.data_dir + "/secrets", fs::perms::owner_all, fs::perm_options::replace, ec);
  auto signer = auth::TokenSigner::load_or_create(c.data_dir + "/secrets/token-signing.pem");
  if (!signer) throw std::runtime_error(signer.error().message);

  d.teams = teams::make_sqlite_team_store(*d.db);
  d.users = users::make_sqlite_user_store(*d.db);
  auth::SessionOptions session_options{c.access_token_ttl_seconds, c.persistent_cookie_ttl_seconds,
                                       c.session_cookie_ttl_seconds, c.cookie_renew_age_seconds};
  d.sessions = std::make_unique<auth::SessionService>(session_options, *signer, auth::make_sqlite_cookie_store(*d.db));
  users::UsersOptions users_options;
  users_options.domain = c.domain;
  users_options.registration_open = c.registration == "open";
  users_options.password_log2_n = c.password_scrypt_log2_n;
  users_options.login_attempts_per_minute = c.login_attempts_per_minute;
  users_options.registrations_per_minute = c.registrations_per_minute;
  users_options.invitation_ttl_ms = c.teams_invitation_ttl_seconds * 1000;

  notifications::LmdbStoreOptions store_options;
  store_options.dir = c.data_dir + "/events";
  store_options.retention_ms = int64_t{c.notifications_retention_days} * 24 * 3600 * 1000;
  store_options.map_size_bytes = static_cast<size_t>(c.notifications_max_store_mb) << 20;
  store_options.max_per_user = static_cast<size_t>(c.notifications_max_per_user);
  d.notifications = notifications::make_lmdb_notification_store(store_options);
  websocket::HubOptions hub_options;
  hub_options.max_queued_frames = static_cast<size_t>(c.websocket_max_queued_frames);
  hub_options.idle_timeout_seconds = c.websocket_idle_timeout_seconds;
  hub_options.max_sockets_per_user = static_cast<size_t>(c.websocket_max_sockets_per_user);
  d.hub = std::make_unique<websocket::Hub>(hub_options);
  d.events = std::make_unique<notifications::EventPublisher>(*d.notifications, d.hub.get());
  d.users_api = std::make_unique<users::UsersApi>(users_options, *d.users, *d.teams, *d.sessions, *d.events);
  d.clients = clients::make_sqlite_client_store(*d.db);
  d.clients_api = std::make_unique<clients::ClientsApi>(clients::ClientsOptions{c.domain, c.max_permanent_clients, c.login_attempts_per_minute},
                                                        *d.clients, *d.users, *d.sessions, *d.events);
  d.clients_api->on_client_removed([hub = d.hub.get()](const std::string& user, const std::string& client) {
    hub->disconnect_client(user, client);
  });
  d.conversations = conversations::make_sqlite_conversation_store(*d.db);
  d.conversations_api = std::make_unique<conversations::ConversationsApi>(
      conversations::ConversationsOptions{c.domain, static_cast<size_t>(c.conversations_max_group_size)},
      *d.conversations, *d.users, *d.teams, *d.events);
  d.sessions->set_client_check([clients = d.clients.get()](const std::string& user, const std::string& client) {
    return clients->find(user, client).has_value();
  });

  d.asset_store = assets::make_sqlite_asset_store(*d.db);
  d.blobs = std::make_unique<assets::BlobDirectory>(c.data_dir + "/assets");
  assets::AssetOptions asset_options;
  asset_options.domain = c.domain;
  asset_options.max_upload_bytes = static_cast<uint64_t>(c.assets_max_upload_mb) << 20;
  asset_options.team_max_upload_bytes = static_cast<uint64_t>(c.assets_team_max_upload_mb) << 20;
  asset_options.volatile_retention_ms = int64_t{c.assets_volatile_retention_days} * 24 * 3600 * 1000;
  asset_options.expiring_retention_ms = int64_t{c.assets_expiring_retention_days} * 24 * 3600 * 1000;
  asset_options.uploads_per_minute = c.assets_uploads_per_minute;
  asset_options.max_uploads_in_flight = c.assets_max_uploads_in_flight;
  asset_options.max_user_uploads_in_flight = c.assets_max_user_uploads_in_flight;
  asset_options.upload_bytes_per_hour = static_cast<uint64_t>(c.assets_upload_mb_per_hour) << 20;
  asset_options.sweep_interval_seconds = c.assets_sweep_interval_seconds;
  d.assets = std::make_unique<assets::AssetService>(asset_options, *d.asset_store, *d.blobs, *d.teams);
  size_t orphans = d.assets->remove_orphans();
  if (orphans > 0 || d.blobs->leftovers_removed() > 0)
    log::info("assets", "removed after an interrupted run: orphan files=" + std::to_string(orphans) +
                            " partial uploads=" + std::to_string(d.blobs->leftovers_removed()));
  d.assets->start_sweeper();

  d.router.set_token_verifier([sessions = d.sessions.get()](std::string_view token) { return sessions->verify(token); });
  http::register_system_routes(d.router, c.domain);
  web::register_routes(d.router, c.web_root);
  deeplink::register_routes(d.router, {public_url(c), c.title.empty() ? c.domain : c.title});
  auth::register_routes(d.router, *d.sessions);
  teams::register_routes(d.router, *d.teams, {c.domain, c.teams_invitation_ttl_seconds * 1000});
  d.users_api->register_routes(d.router);
  notifications::register_routes(d.router, *d.notifications);
  websocket::register_routes(d.router, *d.hub);
  d.clients_api->register_routes(d.router);
  d.conversations_api->register_routes(d.router);
  conversations::register_connection_routes(d.router, c.domain, *d.conversations, *d.users, *d.events);
  messages::register_routes(d.router, c.domain, *d.conversations, *d.clients, *d.events);
  d.assets->register_routes(d.router);
  if (c.turn_enabled) {
    auto calling = calling::CallingService::start(c, so.tls);
    if (!calling) throw std::runtime_error(calling.error().message);
    d.calling = std::move(calling.value());
    d.calling->register_routes(d.router);
    if (c.turn_tls_on_https_port) so.shared_port = d.calling->https_port_protocol();
    log::info("turn", "listening udp=" + std::to_string(d.calling->udp_port()) + " tcp=" +
                          std::to_string(d.calling->tcp_port()) + " tls=" + std::to_string(d.calling->tls_port()));
  }

  d.server = std::make_unique<http::Server>(so, d.router);
  d.server->start();
  if (so.shared_port) d.calling->advertise_https_port(d.server->port());
  d.assets->run_upload_jobs_on([server = d.server.get()](std::function<void()> job) { server->post_blocking(std::move(job)); });
  d.admin = std::make_unique<admin::AdminService>(admin::AdminDeps{
      c, *d.db, *d.users, *d.teams, *d.clients, *d.sessions, *d.notifications, *d.hub, d.calling.get(),
      d.stop_request});
  d.admin->load_blocked_users();
  d.admin_server = std::make_unique<admin::AdminServer>(
      admin_socket_path(c), d.server->first_loop(),
      [server = d.server.get()](std::function<void()> work) { server->post_blocking(std::move(work)); },
      [service = d.admin.get()](const std::string& command, const nlohmann::json& args) {
        return service->handle(command, args);
      });
  if (auto s = d.admin_server->start(); !s) throw std::runtime_error(s.error().message);
  log::info("wireboxd", "admin socket path=" + admin_socket_path(c));
  log::info("wireboxd", "listening address=" + c.listen_address + " port=" + std::to_string(d.server->port()) +
                            " domain=" + c.domain + " data_dir=" + c.data_dir);
  if (d.server->metrics_port())
    log::info("wireboxd", "metrics address=" + so.metrics_address + " port=" + std::to_string(d.server->metrics_port()));
}

void Daemon::on_stop_request(std::function<void()> request) { impl_->stop_request = std::move(request); }

void Daemon::stop() {
  if (impl_->admin_server) impl_->admin_server->stop();
  // The relay first: its loops post to TURN-over-TLS connections on the server's loops, which
  // must still exist then (the server's later posts to the stopped relay just wait, harmlessly).
  if (impl_->calling) impl_->calling->stop();
  if (impl_->server) {
    if (impl_->assets) impl_->assets->run_upload_jobs_on({});  // the pool goes away with the server
    impl_->server->stop();
    impl_->server.reset();
  }
  impl_->admin_server.reset();
}

uint16_t Daemon::port() const { return impl_->server ? impl_->server->port() : 0; }
uint16_t Daemon::metrics_port() const { return impl_->server ? impl_->server->metrics_port() : 0; }

}  // namespace wirebox
