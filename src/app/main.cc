// scsipub: iSCSI targets on the public internet.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/config.h"
#include "app/serve.h"

using scsipub::app::Config;

int main(int argc, char** argv) {
  CLI::App cli{"scsipub: iSCSI targets on the public internet"};
  cli.require_subcommand(1);

  Config cfg;
  std::string config_file;
  std::string data_dir, images_dir, listen, public_host, log_level;
  auto* serve = cli.add_subcommand("serve", "Run the iSCSI target");
  serve->add_option("--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  serve->add_option("--data-dir", data_dir, "Data directory (overlays); default ~/.local/share/scsipub");
  serve->add_option("--images-dir", images_dir, "Catalog of *.img / *.iso images; default DATA_DIR/images");
  serve->add_option("--iscsi-listen", listen, "iSCSI listen address HOST:PORT (default 127.0.0.1:3260)");
  serve->add_option("--public-host", public_host, "Address SendTargets advertises, HOST[:PORT]");
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  CLI11_PARSE(cli, argc, argv);

  if (!config_file.empty()) {
    if (auto s = scsipub::app::load_toml(config_file, cfg); !s) {
      std::cerr << "scsipub: " << s.error().message << "\n";
      return 2;
    }
  }
  // Flags override the file.
  if (!data_dir.empty()) cfg.data_dir = data_dir;
  if (!images_dir.empty()) cfg.images_dir = images_dir;
  if (!listen.empty()) cfg.iscsi_listen = listen;
  if (!public_host.empty()) cfg.public_host = public_host;
  if (!log_level.empty()) cfg.log_level = log_level;
  if (auto s = scsipub::app::validate(cfg); !s) {
    std::cerr << "scsipub: " << s.error().message << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (*serve) return scsipub::app::serve(std::move(cfg));
  return 2;
}
