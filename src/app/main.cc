// scsipub: iSCSI targets on the public internet.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/account_cli.h"
#include "app/admin_cli.h"
#include "app/backup_cli.h"
#include "app/config.h"
#include "app/image_cli.h"
#include "app/log_setup.h"
#include "app/serve.h"

using scsipub::app::Config;

namespace {

// Options every subcommand shares: where the configuration and data live,
// and how the log looks (docs/LOGGING.md).
struct CommonFlags {
  std::string config_file, data_dir, database, log_level, log_format;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
    cmd->add_option("--data-dir", data_dir, "Data directory (overlays, disks, SQLite); default ~/.local/share/scsipub");
    cmd->add_option("--database", database,
                    "Metadata store: a postgresql:// URL, or a SQLite file (default DATA_DIR/scsipub.db)");
    cmd->add_option("--log-level", log_level, "trace, debug, info (default), warn, error, critical, off")
        ->check(CLI::IsMember(scsipub::app::log_level_names()));
    cmd->add_option("--log-format", log_format, "auto (default: journal under systemd, else text), text, journal, json")
        ->check(CLI::IsMember(scsipub::app::log_format_names()));
  }
  // Defaults, then the file, then flags.
  bool load(Config& cfg) const {
    if (!config_file.empty()) {
      if (auto s = scsipub::app::load_toml(config_file, cfg); !s) {
        std::cerr << "scsipub: " << s.error().message << "\n";
        return false;
      }
    }
    if (!data_dir.empty()) cfg.data_dir = data_dir;
    if (!database.empty()) cfg.database = database;
    if (!log_level.empty()) cfg.log_level = log_level;
    if (!log_format.empty()) cfg.log_format = log_format;
    return true;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"scsipub: iSCSI targets on the public internet"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "scsipub " SCSIPUB_VERSION);  // the CMake project version

  Config cfg;
  CommonFlags serve_flags, account_flags, admin_flags, image_flags;
  std::string images_dir, listen, http_listen, public_host;
  auto* serve = cli.add_subcommand("serve", "Run the iSCSI target and the session API");
  serve_flags.add_to(serve);
  serve->add_option("--images-dir", images_dir, "Catalog of *.img / *.iso images; default DATA_DIR/images");
  serve->add_option("--iscsi-listen", listen, "iSCSI listen address HOST:PORT (default 127.0.0.1:3260)");
  serve->add_option("--http-listen", http_listen, "Session API address HOST:PORT (default 127.0.0.1:8080), or off");
  serve->add_option("--public-host", public_host, "Address SendTargets advertises, HOST[:PORT]");
  std::string tls_listen, tls_cert, tls_key;
  int64_t tls_cooldown = 0, per_ip = 0, max_sessions = 0, logins_per_ip = 0, sessions_per_ip = 0;
  std::string overlay_dir;
  serve->add_option("--tls-listen", tls_listen, "iSCSI over TLS address HOST:PORT (default 127.0.0.1:3261), or off");
  // Not checked here: missing TLS files leave the plain listener running, with a warning.
  serve->add_option("--tls-cert", tls_cert, "TLS certificate chain (PEM); re-read when it changes");
  serve->add_option("--tls-key", tls_key, "TLS private key (PEM)");
  serve->add_option("--tls-reload-cooldown", tls_cooldown, "Seconds between checks of the TLS files (default 60)");
  serve->add_option("--max-connections-per-ip", per_ip, "Connections one source address may hold (default 64)");
  serve->add_option("--max-sessions", max_sessions, "Logged-in sessions server-wide (default 2048)");
  serve->add_option("--max-logins-in-progress-per-ip", logins_per_ip,
                    "Logins one address group may have in progress (default 4)");
  serve->add_option("--max-sessions-per-ip", sessions_per_ip,
                    "Anonymous sessions one address group may hold (default 16)");
  serve->add_option("--overlay-dir", overlay_dir, "Free-tier overlays; default DATA_DIR/overlays");

  auto* account = cli.add_subcommand("account", "Manage API accounts");
  account->require_subcommand(1);
  account_flags.add_to(account);
  std::string tier, account_id;
  bool json = false;
  auto* create = account->add_subcommand("create", "Create an account and print its API token (once)");
  create->add_option("--tier", tier, "Tier name from the configuration ([tiers.NAME]; default config: standard)")
      ->required();
  create->add_flag("--json", json, "Print {\"id\",\"tier\",\"token\"} as JSON");
  auto* list = account->add_subcommand("list", "List accounts");
  list->add_flag("--json", json, "Print JSON");
  auto* remove = account->add_subcommand("delete", "Delete an account that owns no disks");
  remove->add_option("id", account_id, "Account id")->required();
  // `account create --tier X --data-dir D`: the shared flags may follow the leaf command.
  for (auto* leaf : {create, list, remove}) leaf->fallthrough();

  auto* admin = cli.add_subcommand("admin", "Operator access to the dashboard (/admin)");
  admin->require_subcommand(1);
  admin_flags.add_to(admin);
  auto* admin_token = admin->add_subcommand("token", "Manage operator tokens");
  admin_token->require_subcommand(1);
  std::string token_label, token_which;
  auto* token_create = admin_token->add_subcommand("create", "Create an operator token and print it (once, one line)");
  token_create->add_option("--label", token_label, "A note to tell tokens apart in 'list'");
  auto* token_list = admin_token->add_subcommand("list", "List operator tokens (id, first characters, created, label)");
  token_list->add_flag("--json", json, "Print JSON");
  auto* token_revoke = admin_token->add_subcommand("revoke", "Revoke an operator token");
  token_revoke->add_option("which", token_which, "Token id, or the token's first 8+ characters")->required();
  for (auto* leaf : {token_create, token_list, token_revoke}) leaf->fallthrough();
  admin_token->fallthrough();

  auto* image = cli.add_subcommand("image", "Manage the image catalog (docs/CATALOG.md)");
  image->require_subcommand(1);
  image_flags.add_to(image);
  std::string image_images_dir, image_name;
  scsipub::app::ImageAddOptions add_options;
  image->add_option("--images-dir", image_images_dir, "Catalog directory; default DATA_DIR/images");
  auto* image_add = image->add_subcommand("add", "Add an image from a local file or an http(s) URL (any supported format)");
  image_add->add_option("name", add_options.name, "Catalog name (target iqn...:image.NAME)")->required();
  image_add->add_option("source", add_options.source, "Local file or http(s) URL")->required();
  image_add->add_option("--sha256", add_options.sha256, "Expected SHA-256 (hex) of the source as fetched");
  image_add->add_option("--title", add_options.title, "Title shown on the landing page and the API");
  image_add->add_option("--description", add_options.description, "Description shown on the landing page and the API");
  image_add->add_option("--presentation", add_options.presentation, "auto (ISO -> DVD-ROM), disk or dvd")
      ->check(CLI::IsMember({"auto", "disk", "dvd"}));
  image_add->add_flag("--replace", add_options.replace, "Replace an existing image of that name (atomically)");
  auto* image_list = image->add_subcommand("list", "List the catalog: files and their metadata");
  image_list->add_flag("--json", json, "Print JSON");
  auto* image_remove = image->add_subcommand("remove", "Remove an image (its metadata, then its file)");
  image_remove->add_option("name", image_name, "Catalog name")->required();
  for (auto* leaf : {image_add, image_list, image_remove}) leaf->fallthrough();

  CommonFlags backup_flags;
  scsipub::app::BackupCreateOptions backup_options;
  std::string restore_dir;
  auto* backup = cli.add_subcommand("backup", "Back up or restore the metadata and provisioned disks (docs/BACKUP.md)");
  backup->require_subcommand(1);
  backup_flags.add_to(backup);
  backup->add_option("--images-dir", image_images_dir, "Catalog directory; default DATA_DIR/images");
  auto* backup_create = backup->add_subcommand("create", "Write a backup into DIR (new or empty); online when a server runs");
  backup_create->add_option("dir", backup_options.dir, "Backup directory")->required();
  backup_create->add_flag("!--without-images", backup_options.images, "Leave the catalog's image files out");
  auto* backup_restore = backup->add_subcommand("restore", "Restore DIR onto an empty --data-dir (server stopped)");
  backup_restore->add_option("dir", restore_dir, "Backup directory")->required();
  for (auto* leaf : {backup_create, backup_restore}) leaf->fallthrough();

  CLI11_PARSE(cli, argc, argv);

  const CommonFlags& flags = *serve ? serve_flags
                             : *backup ? backup_flags
                                       : (*admin ? admin_flags : (*image ? image_flags : account_flags));
  if (!flags.load(cfg)) return 2;
  if (!images_dir.empty()) cfg.images_dir = images_dir;
  if (!image_images_dir.empty()) cfg.images_dir = image_images_dir;
  if (!listen.empty()) cfg.iscsi_listen = listen;
  if (!http_listen.empty()) cfg.http_listen = http_listen;
  if (!public_host.empty()) cfg.public_host = public_host;
  if (!tls_listen.empty()) cfg.tls_listen = tls_listen;
  if (!tls_cert.empty()) cfg.tls_cert = tls_cert;
  if (!tls_key.empty()) cfg.tls_key = tls_key;
  if (tls_cooldown > 0) cfg.tls_reload_cooldown = std::chrono::seconds(tls_cooldown);
  if (per_ip > 0) cfg.max_connections_per_ip = static_cast<size_t>(per_ip);
  if (max_sessions > 0) cfg.max_sessions = static_cast<size_t>(max_sessions);
  if (logins_per_ip > 0) cfg.max_logins_in_progress_per_ip = static_cast<size_t>(logins_per_ip);
  if (sessions_per_ip > 0) cfg.max_sessions_per_ip = static_cast<size_t>(sessions_per_ip);
  if (!overlay_dir.empty()) cfg.overlay_dir = overlay_dir;
  if (auto s = scsipub::app::validate(cfg); !s) {
    std::cerr << "scsipub: " << s.error().message << "\n";
    return 2;
  }
  scsipub::app::setup_logging(cfg.log_level, cfg.log_format);
  if (*serve) return scsipub::app::serve(std::move(cfg));
  if (*create) return scsipub::app::account_create(cfg, tier, json);
  if (*list) return scsipub::app::account_list(cfg, json);
  if (*remove) return scsipub::app::account_delete(cfg, account_id);
  if (*token_create) return scsipub::app::admin_token_create(cfg, token_label);
  if (*token_list) return scsipub::app::admin_token_list(cfg, json);
  if (*token_revoke) return scsipub::app::admin_token_revoke(cfg, token_which);
  if (*image_add) return scsipub::app::image_add(cfg, add_options);
  if (*image_list) return scsipub::app::image_list(cfg, json);
  if (*image_remove) return scsipub::app::image_remove(cfg, image_name);
  if (*backup_create) return scsipub::app::backup_create(cfg, backup_options);
  if (*backup_restore) return scsipub::app::backup_restore(cfg, restore_dir);
  return 2;
}
