/*
 * sitekeeper's own rules: known web shells and uploaders, written from public
 * descriptions of them (their default action names, login forms, banners).
 * Metadata and tests as in php_code_execution.yar.
 */

rule webshell_known_markers
{
    meta:
        severity = "critical"
        description = "Marker of a known web shell (FilesMan/WSO, c99, r57, b374k, IndoXploit, Alfa): someone has a file manager on this site"
    strings:
        $filesman = "FilesMan"
        $wso = "WSO_VERSION" nocase
        $c99 = "c99shell" nocase
        $c99_funcs = "c99_buff_prepare" nocase
        $r57 = "r57shell" nocase
        $b374k = "b374k" nocase
        $indoxploit = "IndoXploit" nocase
        $alfa = "ALFA_DATA"
    condition:
        any of them
}

rule webshell_wso_login
{
    meta:
        severity = "critical"
        description = "WSO-style shell login: a password compared as md5 and kept in a cookie named after the host"
    strings:
        $hash = /\$auth_pass\s*=\s*["'][0-9a-fA-F]{32}["']/
        $cookie = /\$_COOKIE\s*\[\s*md5\s*\(\s*\$_SERVER\s*\[\s*["']HTTP_HOST["']\s*\]\s*\)\s*\]/ nocase
        $md5_post = /md5\s*\(\s*\$_POST\s*\[\s*["']pass["']\s*\]\s*\)/ nocase
        $form = /<input[^>\n]{0,60}type\s*=\s*["']?password["']?[^>\n]{0,60}name\s*=\s*["']?pass\b/ nocase
    condition:
        $hash or $cookie or ($md5_post and $form)
}

rule webshell_command_ui
{
    meta:
        severity = "high"
        description = "A page that takes a command from the request and shows the server's identity and PHP limits: the look of a web shell"
    strings:
        $cmd = /\$_(POST|GET|REQUEST)\s*\[\s*["'](cmd|command|c|exec|execute|shell)["']\s*\]/ nocase
        $uname = /\bphp_uname\s*\(/ nocase
        $owner = "posix_getpwuid" nocase
        $safe_mode = "safe_mode" nocase
        $disabled = "disable_functions" nocase
        $perms = /\bfileperms\s*\(/ nocase
    condition:
        $cmd and 3 of ($uname, $owner, $safe_mode, $disabled, $perms)
}

rule php_upload_arbitrary_path
{
    meta:
        severity = "high"
        description = "An upload handler stores $_FILES under a name or path the visitor chooses: anyone can drop a PHP file"
    strings:
        $move = /\b(move_uploaded_file|copy|rename)\s*\(\s*\$_FILES\s*\[[^\]\n]{1,64}\]\s*\[\s*["']tmp_name["']\s*\]\s*,[^;]{0,200}(\$_FILES\s*\[[^\]\n]{1,64}\]\s*\[\s*["']name["']\s*\]|\$_(GET|POST|REQUEST|COOKIE)\b)/ nocase
        $write = /\bfile_put_contents\s*\(\s*(@\s*)?\$_(GET|POST|REQUEST|COOKIE)\b[^;]{0,200}\$_(GET|POST|REQUEST|COOKIE)\b/ nocase
    condition:
        any of them
}

rule php_upload_form_dropper
{
    meta:
        severity = "medium"
        description = "A small stand-alone upload form that saves files itself (not through the CMS): the classic uploader left behind by an attacker"
    strings:
        $form = /enctype\s*=\s*["']?multipart\/form-data/ nocase
        $files = "$_FILES" nocase
        $move = /\bmove_uploaded_file\s*\(/ nocase
        $wp = "ABSPATH"
        $joomla = "_JEXEC"
        $drupal = "Drupal"
    condition:
        filesize < 16KB and $form and $files and $move and not ($wp or $joomla or $drupal)
}
