#!/usr/bin/env bash
# realsites/realcms.sh - a Joomla and a Drupal fixture site on loopback, served like the
# real WordPress sites of wordpress.sh (beside this file).
#
#   realcms.sh up       set up / start jm1 (Joomla 5.3.2) and dr1 (Drupal 10.1.6); idempotent
#   realcms.sh status   one line per site: name, URL, HTTP status of /, core version
#   realcms.sh down     stop this script's nginx and php-fpm (wordpress.sh's sshd/MariaDB stay)
#   realcms.sh reset    down + drop the jm1/dr1 databases and DB users, remove the Unix users,
#                       docroots, keys and /srv/realcms, so the next `up` starts clean
#
# jm1: http://127.0.0.1:8091/  docroot+home /srv/sites/jm1  Unix user jm1  DB jm1/jm1/jm1-db-pass
# dr1: http://127.0.0.1:8092/  docroot+home /srv/sites/dr1  Unix user dr1  DB dr1/dr1/dr1-db-pass
# SSH: the sshd of wordpress.sh on 127.0.0.1:2222 (users in group realsites), keys
# /srv/sites/keys/jm1 and /srv/sites/keys/dr1, known_hosts /srv/sites/keys/known_hosts.
#
# No package registry here carries Joomla or Drupal, so these are FIXTURE sites: the
# version files, manifests, .info.yml files and config templates of tests/fixtures/sites
# (joomla5, drupal10, with realcms/ on top for 5.3.2 and 10.1.6), real-shaped tables in
# MariaDB, and a small index.php per CMS that reads the site's own config, connects with
# mysqli and renders the home page (title from the database, the CMS's generator tag).
# Everything around them is real: Unix users, SSH, nginx, PHP-FPM pools running as the
# site user, MariaDB. Needs root. Runs `wordpress.sh up 1` first if its sshd or MariaDB
# is not there. See tests/fixtures/sites/realcms/README.md.

set -Eeuo pipefail

# ---------------------------------------------------------------- constants
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES=${REALCMS_FIXTURES:-$HERE/../fixtures/sites}
WP_SCRIPT=${REALSITES_SCRIPT:-$HERE/wordpress.sh}
SITES_ROOT=/srv/sites
KEYS_DIR=$SITES_ROOT/keys
WP_RT=/srv/realsites                       # wordpress.sh's runtime: sshd, authorized_keys
AUTHKEYS=$WP_RT/ssh/authorized_keys        # sshd_config: AuthorizedKeysFile .../%u
RT=/srv/realcms                            # ours: generated configs, pid files, logs
CONF=$RT/conf
RUN=$RT/run
LOGS=$RT/log
SSH_PORT=2222
DB_PORT=3306
SITE_GROUP=realsites                       # sshd_config: AllowGroups realsites
GECOS_TAG="realsites CMS site"             # not wordpress.sh's tag: its reset leaves ours alone
LOCKFILE=/tmp/realsites-realcms.lock
SITES=(jm1 dr1)

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C
umask 022

log()  { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "ERROR: realcms.sh failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit $rc' ERR

cms_of()   { case "$1" in jm*) echo joomla ;; dr*) echo drupal ;; *) die "unknown site $1" ;; esac; }
port_of()  { case "$1" in jm1) echo 8091 ;; dr1) echo 8092 ;; *) die "unknown site $1" ;; esac; }
url_of()   { printf 'http://127.0.0.1:%s/' "$(port_of "$1")"; }
title_of() { if [ "$(cms_of "$1")" = joomla ]; then echo "Realsites Joomla $1"; else echo "Realsites Drupal $1"; fi; }
prefix_of() { if [ "$(cms_of "$1")" = joomla ]; then echo "k7v2q_"; else echo ""; fi; }
config_of() { if [ "$(cms_of "$1")" = joomla ]; then echo configuration.php; else echo sites/default/settings.php; fi; }
version_file_of() { if [ "$(cms_of "$1")" = joomla ]; then echo libraries/src/Version.php; else echo core/lib/Drupal.php; fi; }
base_fixture_of() { if [ "$(cms_of "$1")" = joomla ]; then echo joomla5; else echo drupal10; fi; }

# The DB password in force: the site's config is the source of truth once it exists.
site_db_pass() {
    local s=$1 f p=""
    f="$SITES_ROOT/$s/$(config_of "$s")"
    if [ -f "$f" ]; then
        if [ "$(cms_of "$s")" = joomla ]; then
            p=$(tr -d '\r' <"$f" | sed -n "s/^[[:space:]]*public \$password = '\([^'\\\\]*\)';.*/\1/p" | tail -n1)
        else
            p=$(tr -d '\r' <"$f" | sed -n "s/^[[:space:]]*'password' => '\([^'\\\\]*\)',.*/\1/p" | tail -n1)
        fi
    fi
    if [ -n "$p" ]; then printf '%s' "$p"; else printf '%s-db-pass' "$s"; fi
}

core_version() { # core_version SITE -> the release its version file names
    local s=$1 d="$SITES_ROOT/$1"
    if [ "$(cms_of "$s")" = joomla ]; then
        local f="$d/libraries/src/Version.php" ma mi pa
        [ -f "$f" ] || return 0
        ma=$(sed -n 's/.*const MAJOR_VERSION = \([0-9]*\);.*/\1/p' "$f")
        mi=$(sed -n 's/.*const MINOR_VERSION = \([0-9]*\);.*/\1/p' "$f")
        pa=$(sed -n 's/.*const PATCH_VERSION = \([0-9]*\);.*/\1/p' "$f")
        printf '%s.%s.%s' "$ma" "$mi" "$pa"
    else
        sed -n "s/.*const VERSION = '\([^']*\)';.*/\1/p" "$d/core/lib/Drupal.php" 2>/dev/null | head -n1
    fi
}

require_root() { [ "$(id -u)" = 0 ] || die "must run as root (it creates Unix users and databases and starts daemons)"; }

take_lock() {
    exec 9>"$LOCKFILE"
    if ! flock -n 9; then
        log "waiting for another realcms.sh run to finish (lock $LOCKFILE)"
        flock -w 900 9 || die "timed out waiting for lock $LOCKFILE"
    fi
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

running() { local st; st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; st=${st##*) }; [ "${st%% *}" != Z ]; }

# pid_alive PIDFILE COMM-REGEX [DIR]: prints the pid if it runs a matching program whose
# command line names DIR (default: our runtime directory), so it is one of ours
pid_alive() {
    local f=$1 re=$2 dir=${3:-$RT} pid comm
    [ -s "$f" ] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [ -n "$pid" ] && running "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [[ $comm =~ $re ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/" || return 1
    printf '%s' "$pid"
}

stop_pid() { # stop_pid NAME PIDFILE COMM-REGEX SIGNAL
    local name=$1 f=$2 re=$3 sig=$4 pid i
    if pid=$(pid_alive "$f" "$re"); then
        kill "-$sig" "$pid" 2>/dev/null || true
        for i in $(seq 1 300); do
            running "$pid" || break
            sleep 0.1
        done
        if running "$pid"; then
            warn "$name (pid $pid) did not exit after SIG$sig; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        info "stopped $name (pid $pid)"
    else
        info "$name: not running (nothing to stop)"
    fi
    rm -f "$f"
}

wait_until() { # wait_until SECONDS CMD...
    local secs=$1 i; shift
    for i in $(seq 1 $((secs * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

show_log_tail() { [ -f "$1" ] && { echo "----- last lines of $1 -----" >&2; tail -n 25 "$1" >&2; echo "-----" >&2; } || true; }

# install_conf FILE: replace FILE with stdin if different; returns 0 if it changed
install_conf() {
    local f=$1 tmp
    tmp=$(mktemp "$f.XXXXXX")
    cat >"$tmp"
    if [ -f "$f" ] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; return 1; fi
    chmod 644 "$tmp"
    mv -f "$tmp" "$f"
    return 0
}

# ---------------------------------------------------------------- what wordpress.sh provides
DB_ROOT_MODE=""
db_root() {
    case "$DB_ROOT_MODE" in
        socket) "$DB_CLIENT" --connect-timeout=5 --protocol=socket -uroot "$@" ;;
        tcp)    "$DB_CLIENT" --connect-timeout=5 --protocol=tcp -h127.0.0.1 -P"$DB_PORT" -uroot "$@" ;;
        tcppw)  "$DB_CLIENT" --connect-timeout=5 --protocol=tcp -h127.0.0.1 -P"$DB_PORT" -uroot --password="$REALSITES_DB_ROOT_PASSWORD" "$@" ;;
        *) return 1 ;;
    esac
}
detect_db_root() {
    local m
    DB_CLIENT=$(command -v mariadb || command -v mysql) || return 1
    for m in socket tcp tcppw; do
        if [ "$m" = tcppw ] && [ -z "${REALSITES_DB_ROOT_PASSWORD:-}" ]; then continue; fi
        DB_ROOT_MODE=$m
        if db_root -N -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    done
    DB_ROOT_MODE=""
    return 1
}

wordpress_infra_up() {
    pid_alive "$WP_RT/run/sshd.pid" '^sshd' "$WP_RT" >/dev/null && port_open "$SSH_PORT" \
        && [ -d "$AUTHKEYS" ] && detect_db_root && port_open "$DB_PORT"
}

# The sshd on 2222, MariaDB and the packages (php-fpm, php-mysql, nginx) come from wordpress.sh.
ensure_wordpress_infra() {
    if wordpress_infra_up; then
        info "wordpress.sh's sshd (127.0.0.1:$SSH_PORT) and MariaDB are up"
        return 0
    fi
    [ -f "$WP_SCRIPT" ] || die "wordpress.sh's sshd/MariaDB are not up and $WP_SCRIPT is missing (set REALSITES_SCRIPT)"
    log "starting wordpress.sh's sshd and MariaDB: bash $WP_SCRIPT up 1"
    bash "$WP_SCRIPT" up 1 </dev/null >>"$LOGS/wordpress-up.log" 2>&1 9>&- \
        || { show_log_tail "$LOGS/wordpress-up.log"; die "wordpress.sh up 1 failed (log: $LOGS/wordpress-up.log)"; }
    wordpress_infra_up || die "wordpress.sh up ran but its sshd or MariaDB is not reachable"
}

detect_tools() {
    PHP_BIN=$(command -v php) || die "php not found (wordpress.sh installs it)"
    local phpv
    phpv=$("$PHP_BIN" -r 'echo PHP_MAJOR_VERSION.".".PHP_MINOR_VERSION;')
    FPM_BIN=/usr/sbin/php-fpm$phpv
    [ -x "$FPM_BIN" ] || FPM_BIN=$(ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -n1)
    [ -n "$FPM_BIN" ] && [ -x "$FPM_BIN" ] || die "php-fpm binary not found"
    NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$NGINX_BIN" ] || die "nginx not found"
    local mods
    mods=$("$PHP_BIN" -m)
    grep -qix mysqli <<<"$mods" || die "PHP extension mysqli missing (package php-mysql)"
    DB_DUMP=$(command -v mysqldump || command -v mariadb-dump) || die "mysqldump not found"
    [ -d "$FIXTURES/joomla5" ] && [ -d "$FIXTURES/drupal10" ] && [ -d "$FIXTURES/realcms" ] \
        || die "fixture sites not found under $FIXTURES (set REALCMS_FIXTURES)"
}

# ---------------------------------------------------------------- per site
ensure_group() { getent group "$SITE_GROUP" >/dev/null || groupadd --system "$SITE_GROUP"; }

ensure_unix_user() {
    local u=$1 ent
    if ent=$(getent passwd "$u"); then
        case "$ent" in
            *"$GECOS_TAG"*) ;;
            *) die "Unix user $u already exists and was not created by this script; refusing to take it over" ;;
        esac
    else
        local grp=(--user-group)
        getent group "$u" >/dev/null && grp=(-g "$u")
        useradd --home-dir "$SITES_ROOT/$u" --no-create-home --shell /bin/bash "${grp[@]}" \
            --groups "$SITE_GROUP" --comment "$GECOS_TAG $u" "$u"
        info "created Unix user $u (home $SITES_ROOT/$u)"
    fi
    usermod -a -G "$SITE_GROUP" "$u"   # again: wordpress.sh's reset deletes the group
    usermod -p '*' "$u"                # no password, not locked: sshd (UsePAM no) takes keys
}

render_config() { # render_config SITE: the config template filled in, on stdout
    local s=$1 template
    template="$FIXTURES/$(base_fixture_of "$s")/$(config_of "$s").in"
    sed -e "s|@HOST@|127.0.0.1|" -e "s|@PORT@|$DB_PORT|" -e "s|@USER@|$s|" \
        -e "s|@PASSWORD@|$s-db-pass|" -e "s|@DB@|$s|" -e "s|@PREFIX@|$(prefix_of "$s")|" \
        -e "s|'Joomla Fixture'|'$(title_of "$s")'|" \
        -e "s|/var/www/html/administrator/logs|$SITES_ROOT/$s/administrator/logs|" \
        -e "s|/var/www/html/tmp|$SITES_ROOT/$s/tmp|" \
        "$template"
}

# The base fixtures are real files of Joomla 5.1.2 and Drupal 10.2.3; the sites run
# 5.3.2 and 10.1.6, which differ in those files only by their version numbers and dates.
set_release() {
    local s=$1 d=$2
    if [ "$(cms_of "$s")" = joomla ]; then
        sed -i -e 's/MINOR_VERSION = 1;/MINOR_VERSION = 3;/' \
            -e "s/RELDATE = '9-July-2024'/RELDATE = '8-July-2025'/" "$d/libraries/src/Version.php"
        sed -i -e 's|<version>5.1.2</version>|<version>5.3.2</version>|' \
            -e 's|<creationDate>2024-07</creationDate>|<creationDate>2025-07</creationDate>|' \
            "$d/administrator/manifests/files/joomla.xml"
        grep -q 'MINOR_VERSION = 3;' "$d/libraries/src/Version.php" \
            && grep -q '<version>5.3.2</version>' "$d/administrator/manifests/files/joomla.xml" \
            || die "$s: could not set the Joomla release to 5.3.2"
    else
        sed -i "s/const VERSION = '10.2.3'/const VERSION = '10.1.6'/" "$d/core/lib/Drupal.php"
        grep -q "const VERSION = '10.1.6'" "$d/core/lib/Drupal.php" \
            || die "$s: could not set the Drupal release to 10.1.6"
    fi
}

# sync_overlay SITE DOCROOT: the realcms/<cms> files (index.php, the console and drush
# stand-ins) installed again wherever they differ, so a site made before they changed gets
# them on the next `up`; an unchanged file is not touched (its mtime stays).
sync_overlay() {
    local s=$1 d=$2 src rel mode
    src="$FIXTURES/realcms/$(cms_of "$s")"
    while IFS= read -r -d '' rel; do
        rel=${rel#./}
        cmp -s "$src/$rel" "$d/$rel" && continue
        mode=644
        [ -x "$src/$rel" ] && mode=755
        install -D -o "$s" -g "$s" -m "$mode" "$src/$rel" "$d/$rel"
        info "$s: installed $rel"
    done < <(cd "$src" && find . -type f -print0)
}

ensure_docroot() {
    local s=$1 d="$SITES_ROOT/$1" cfg
    cfg="$d/$(config_of "$s")"
    if [ ! -f "$d/$(version_file_of "$s")" ]; then
        info "copying the $(cms_of "$s") fixture ($(base_fixture_of "$s") + realcms/$(cms_of "$s")) to $d"
        mkdir -p "$d"
        # Fixture captures (*.html pages, *.in templates) are not site files.
        tar -C "$FIXTURES/$(base_fixture_of "$s")" --exclude='./index.html' --exclude='*.html' \
            --exclude='*.in' -cf - . | tar -C "$d" -xf -
        tar -C "$FIXTURES/realcms/$(cms_of "$s")" -cf - . | tar -C "$d" -xf -
        set_release "$s" "$d"
    fi
    sync_overlay "$s" "$d"
    if [ "$(cms_of "$s")" = drupal ]; then
        mkdir -p "$d/sites/default/files"
    else
        mkdir -p "$d/administrator/logs" "$d/tmp" "$d/cache" "$d/images"
    fi
    if [ ! -f "$cfg" ]; then
        render_config "$s" >"$cfg"
        info "wrote $cfg"
    fi
    chown -R "$s:$s" "$d"
    chmod 755 "$d"
    chmod 640 "$cfg"
    if [ "$(cms_of "$s")" = drupal ]; then chmod 555 "$d/sites/default"; fi  # as Drupal's installer leaves it
}

sql_quote() { printf "%s" "$1" | sed "s/'/''/g"; }

ensure_db() {
    local s=$1 pw
    pw=$(sql_quote "$(site_db_pass "$s")")
    db_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$s\` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$s'@'localhost' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS '$s'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER '$s'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$s'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON \`$s\`.* TO '$s'@'localhost';
GRANT ALL PRIVILEGES ON \`$s\`.* TO '$s'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

ensure_keys() {
    local u=$1
    mkdir -p "$KEYS_DIR"
    chmod 755 "$KEYS_DIR"
    if [ ! -f "$KEYS_DIR/$u" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "$u@realsites" -f "$KEYS_DIR/$u"
        info "generated SSH key $KEYS_DIR/$u"
    fi
    chmod 600 "$KEYS_DIR/$u"
    chmod 644 "$KEYS_DIR/$u.pub"
    install -m 644 -o root -g root "$KEYS_DIR/$u.pub" "$AUTHKEYS/$u"   # again: wordpress.sh's reset removes it
}

install_tables() {
    local s=$1 out
    out=$(cd / && runuser -u "$s" -- "$PHP_BIN" -d display_errors=stderr "$FIXTURES/realcms/setup.php" \
        "$(cms_of "$s")" "$SITES_ROOT/$s" "$(title_of "$s")" 2>&1) \
        || { printf '%s\n' "$out" >&2; die "creating the tables of $s failed"; }
    info "$s: $out"
}

# ---------------------------------------------------------------- nginx + php-fpm of our own
gen_fastcgi_params() {
    cat <<'EOF'
# generated by realsites/realcms.sh - do not edit
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  SCRIPT_FILENAME    $document_root$fastcgi_script_name;
fastcgi_param  PATH_INFO          $fastcgi_path_info;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $host;
fastcgi_param  REDIRECT_STATUS    200;
fastcgi_param  HTTP_HOST          $host:$server_port;
fastcgi_param  HTTP_PROXY         "";
EOF
}

gen_nginx_conf() {
    local s
    cat <<EOF
# generated by realsites/realcms.sh - do not edit
user www-data;
worker_processes 1;
pid $RUN/nginx.pid;
error_log $LOGS/nginx-error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $LOGS/nginx-access.log;
    sendfile on;
    keepalive_timeout 30;
    client_max_body_size 64m;
    server_tokens on;
EOF
    for s in "${SITES[@]}"; do
        cat <<EOF

    # site $s ($(cms_of "$s"))
    server {
        listen 127.0.0.1:$(port_of "$s");
        server_name 127.0.0.1 localhost;
        root $SITES_ROOT/$s;
        index index.php;
        access_log $LOGS/$s-access.log;
        location ~ /\\. { deny all; }
        location ~* \\.(engine|inc|install|module|profile|po|sh|sql|theme|twig|yml|ini|log)\$ { deny all; }
        location ~ ^/sites/[^/]+/files/.*\\.php\$ { deny all; }
        location / { try_files \$uri \$uri/ /index.php?\$query_string; }
        location ~ \\.php\$ {
            try_files \$uri =404;
            fastcgi_split_path_info ^(.+\\.php)(/.+)\$;
            include $CONF/fastcgi_params;
            fastcgi_pass unix:$RUN/php-fpm-$s.sock;
            fastcgi_read_timeout 120;
        }
    }
EOF
    done
    echo "}"
}

gen_fpm_conf() {
    local s
    cat <<EOF
; generated by realsites/realcms.sh - do not edit
[global]
pid = $RUN/php-fpm.pid
error_log = $LOGS/php-fpm.log
daemonize = yes
EOF
    for s in "${SITES[@]}"; do
        cat <<EOF

[$s]
user = $s
group = $s
listen = $RUN/php-fpm-$s.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = ondemand
pm.max_children = 4
pm.process_idle_timeout = 60s
chdir = /
catch_workers_output = yes
php_admin_value[error_log] = $LOGS/$s-php-error.log
php_admin_flag[log_errors] = on
php_admin_value[sendmail_path] = "/bin/sh -c 'cat >> $LOGS/$s-mail.log'"
php_value[memory_limit] = 128M
EOF
    done
}

ensure_php_fpm() {
    local changed=0 s pid
    gen_fpm_conf | install_conf "$CONF/php-fpm.conf" && changed=1
    for s in "${SITES[@]}"; do
        touch "$LOGS/$s-php-error.log" "$LOGS/$s-mail.log"
        chown "$s:$s" "$LOGS/$s-php-error.log" "$LOGS/$s-mail.log"
    done
    "$FPM_BIN" -t -y "$CONF/php-fpm.conf" >"$LOGS/php-fpm-test.log" 2>&1 \
        || { cat "$LOGS/php-fpm-test.log" >&2; die "php-fpm config test failed"; }
    if pid=$(pid_alive "$RUN/php-fpm.pid" "^php-fpm"); then
        if [ $changed = 1 ]; then
            log "reloading php-fpm (pid $pid)"
            kill -USR2 "$pid"
            sleep 1
        else
            info "php-fpm: running (pid $pid)"
        fi
    else
        log "starting php-fpm (one pool per site, running as the site user)"
        "$FPM_BIN" -y "$CONF/php-fpm.conf" -D </dev/null >>"$LOGS/php-fpm.out" 2>&1 9>&- \
            || { show_log_tail "$LOGS/php-fpm.log"; die "php-fpm failed to start"; }
    fi
    for s in "${SITES[@]}"; do
        wait_until 20 test -S "$RUN/php-fpm-$s.sock" \
            || { show_log_tail "$LOGS/php-fpm.log"; die "php-fpm pool $s socket did not appear"; }
    done
}

ensure_nginx() {
    local changed=0 s pid
    gen_fastcgi_params | install_conf "$CONF/fastcgi_params" && changed=1
    gen_nginx_conf | install_conf "$CONF/nginx.conf" && changed=1
    "$NGINX_BIN" -t -q -c "$CONF/nginx.conf" -e "$LOGS/nginx-error.log" >"$LOGS/nginx-test.log" 2>&1 \
        || { cat "$LOGS/nginx-test.log" >&2; die "nginx config test failed"; }
    if pid=$(pid_alive "$RUN/nginx.pid" '^nginx'); then
        if [ $changed = 1 ]; then
            log "reloading nginx (pid $pid)"
            "$NGINX_BIN" -c "$CONF/nginx.conf" -e "$LOGS/nginx-error.log" -s reload 9>&-
        else
            info "nginx: running (pid $pid)"
        fi
    else
        for s in "${SITES[@]}"; do
            port_open "$(port_of "$s")" && die "port 127.0.0.1:$(port_of "$s") is already in use by a process this script did not start"
        done
        log "starting nginx on 127.0.0.1:$(port_of "${SITES[0]}")..$(port_of "${SITES[-1]}")"
        "$NGINX_BIN" -c "$CONF/nginx.conf" -e "$LOGS/nginx-error.log" </dev/null >>"$LOGS/nginx.out" 2>&1 9>&- \
            || { show_log_tail "$LOGS/nginx-error.log"; die "nginx failed to start"; }
    fi
    for s in "${SITES[@]}"; do
        wait_until 20 port_open "$(port_of "$s")" \
            || { show_log_tail "$LOGS/nginx-error.log"; die "nginx is not listening on 127.0.0.1:$(port_of "$s")"; }
    done
}

# ---------------------------------------------------------------- verification
verify_site() {
    local s=$1 url code page headers gen title out
    url=$(url_of "$s")
    page="$RT/tmp-home-$s.html"
    headers="$RT/tmp-headers-$s.txt"
    code=000
    for _ in $(seq 1 20); do
        code=$(curl -s -D "$headers" -o "$page" -w '%{http_code}' -m 20 "$url" || true)
        [ "$code" = 200 ] && break
        sleep 0.5
    done
    [ "$code" = 200 ] || { show_log_tail "$LOGS/nginx-error.log"; show_log_tail "$LOGS/$s-php-error.log"; die "$url answered HTTP $code (expected 200)"; }
    gen=$(grep -io '<meta name="generator" content="[^"]*"' "$page" | head -n1 || true)
    title=$(sed -n 's:.*<title>\(.*\)</title>.*:\1:p' "$page" | head -n1)
    if [ "$(cms_of "$s")" = drupal ] && ! grep -qi '^X-Generator: Drupal 10' "$headers"; then
        die "$url: no X-Generator header"
    fi
    rm -f "$page" "$headers"
    [ -n "$gen" ] || die "$url: no generator meta tag in the home page"
    case "$title" in *"$(title_of "$s")"*) ;; *) die "$url: title '$title', expected '$(title_of "$s")' (from the database)" ;; esac
    out=$(ssh -i "$KEYS_DIR/$s" -p "$SSH_PORT" -o BatchMode=yes -o IdentitiesOnly=yes \
            -o UserKnownHostsFile="$KEYS_DIR/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=10 \
            "$s@127.0.0.1" "pwd; $(basename "$DB_DUMP") --no-data -h127.0.0.1 -P$DB_PORT -u$s -p'$(site_db_pass "$s")' $s | grep -c 'CREATE TABLE'" 2>&1) \
        || { printf '%s\n' "$out" >&2; show_log_tail "$WP_RT/log/sshd.log"; die "SSH/mysqldump check for $s failed"; }
    info "$s OK: $url HTTP 200, title '$title', $gen, ssh $s@127.0.0.1:$SSH_PORT home=$(echo "$out" | head -n1), mysqldump sees $(echo "$out" | tail -n1) tables"
}

# ---------------------------------------------------------------- subcommands
cmd_up() {
    local start s
    start=$(date +%s)
    require_root
    take_lock
    log "realsites CMS fixtures: up (${SITES[*]})"
    mkdir -p "$CONF" "$RUN" "$LOGS" "$SITES_ROOT" "$KEYS_DIR"
    chmod 755 "$RT" "$CONF" "$RUN" "$LOGS"
    ensure_wordpress_infra
    detect_tools
    detect_db_root || die "cannot log in to MariaDB as root"
    ensure_group
    for s in "${SITES[@]}"; do
        log "site $s ($(cms_of "$s")): files, Unix user, database, SSH key"
        ensure_unix_user "$s"
        ensure_docroot "$s"
        ensure_db "$s"
        ensure_keys "$s"
        install_tables "$s"
    done
    ensure_php_fpm
    ensure_nginx
    log "verifying sites over HTTP and SSH"
    for s in "${SITES[@]}"; do verify_site "$s"; done
    log "up done in $(( $(date +%s) - start )) s. Sites:"
    for s in "${SITES[@]}"; do
        info "$s  $(url_of "$s")  $(cms_of "$s") $(core_version "$s")  db: $s / $s / $(site_db_pass "$s") @127.0.0.1:$DB_PORT prefix '$(prefix_of "$s")'"
        info "      ssh -i $KEYS_DIR/$s -o UserKnownHostsFile=$KEYS_DIR/known_hosts -p $SSH_PORT $s@127.0.0.1"
    done
}

stop_daemons() {
    [ -d "$RT" ] || { info "nothing to stop ($RT does not exist)"; return 0; }
    stop_pid "nginx" "$RUN/nginx.pid" '^nginx' QUIT
    stop_pid "php-fpm" "$RUN/php-fpm.pid" '^php-fpm' QUIT
}

cmd_down() {
    require_root
    take_lock
    log "realsites CMS fixtures: down"
    stop_daemons
    log "down done (files left in place; wordpress.sh's sshd and MariaDB left alone)"
}

cmd_reset() {
    require_root
    take_lock
    log "realsites CMS fixtures: reset"
    stop_daemons
    local s u
    if detect_db_root; then
        local stmt=""
        for s in "${SITES[@]}"; do
            stmt+="DROP DATABASE IF EXISTS \`$s\`; DROP USER IF EXISTS '$s'@'localhost'; DROP USER IF EXISTS '$s'@'127.0.0.1'; "
        done
        db_root -e "$stmt FLUSH PRIVILEGES;"
        info "dropped databases and DB users: ${SITES[*]}"
    else
        warn "cannot reach MariaDB as root; databases were NOT dropped"
    fi
    for u in $(getent passwd | awk -F: -v tag="$GECOS_TAG" 'index($5, tag) == 1 {print $1}'); do
        userdel "$u" 2>/dev/null || userdel -f "$u" 2>/dev/null || warn "could not remove Unix user $u"
        getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null || true
        info "removed Unix user $u"
    done
    for s in "${SITES[@]}"; do
        rm -rf "${SITES_ROOT:?}/$s"
        rm -f "$KEYS_DIR/$s" "$KEYS_DIR/$s.pub" "$AUTHKEYS/$s"
    done
    rm -rf "$RT"
    info "removed the docroots, keys and $RT"
    log "reset done"
}

cmd_status() {
    local s code bad=0 any=0 svc=()
    for s in "${SITES[@]}"; do
        [ -d "$SITES_ROOT/$s" ] || continue
        any=1
        code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$(url_of "$s")" || true)
        [ -n "$code" ] || code=000
        printf '%s %s http=%s %s=%s ssh=%s@127.0.0.1:%s\n' "$s" "$(url_of "$s")" "$code" \
            "$(cms_of "$s")" "$(core_version "$s" || true)" "$s" "$SSH_PORT"
        [ "$code" = 200 ] || bad=1
    done
    pid_alive "$RUN/nginx.pid" '^nginx' >/dev/null && svc+=("nginx=up") || svc+=("nginx=down")
    pid_alive "$RUN/php-fpm.pid" '^php-fpm' >/dev/null && svc+=("php-fpm=up") || svc+=("php-fpm=down")
    port_open "$SSH_PORT" && svc+=("sshd=up") || svc+=("sshd=down")
    port_open "$DB_PORT" && svc+=("mariadb=up") || svc+=("mariadb=down")
    printf 'services: %s\n' "${svc[*]}" >&2
    if [ $any = 0 ]; then echo "no CMS fixture sites under $SITES_ROOT (run: $0 up)" >&2; return 1; fi
    return $bad
}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case "$cmd" in
        up)     cmd_up ;;
        down)   cmd_down ;;
        reset)  cmd_reset ;;
        status) trap - ERR; set +e; cmd_status; exit $? ;;
        -h|--help|help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
