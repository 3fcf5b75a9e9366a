; Inno Setup script: per-user Windows installer of the PyInstaller build (no admin rights).
;
;   1. on Windows: .venv\Scripts\python -m PyInstaller --noconfirm packaging\gis_desk.spec
;   2. iscc /DAppVersion=0.1.0 packaging\gis_desk.iss      -> dist\installer\gis-desk-0.1.0-setup.exe
;   3. python packaging\smoke_test.py --exe "%LOCALAPPDATA%\Programs\GIS Desk\gis-desk.exe"
;
; Installs into %LOCALAPPDATA%\Programs\GIS Desk, adds Start-menu entries (the app, and the app on
; the Trafford sample survey), optionally a desktop icon and the .gdesk file association, all
; under HKEY_CURRENT_USER. Uninstall from Settings > Apps removes everything it added.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "GIS Desk"
#define AppExe "gis-desk-app.exe"
#define BuildDir "..\dist\gis-desk"

[Setup]
AppId={{6C1E4B2A-7D35-4F0E-9B8A-2F5D0C9E7A41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=GIS Desk developers
; Per user: no elevation, installs under the user's profile, registry entries in HKCU.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
OutputDir=..\dist\installer
OutputBaseFilename=gis-desk-{#AppVersion}-setup
SetupIconFile=icons\gis-desk.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "fileassoc"; Description: "Open .gdesk project files with {#AppName}"; GroupDescription: "File types:"

[Files]
Source: "{#BuildDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autoprograms}\{#AppName} - Trafford sample survey"; Filename: "{app}\{#AppExe}"; \
    Parameters: """{app}\_internal\sample_surveys\trafford\trafford.gdesk"""
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA is HKEY_CURRENT_USER for a per-user (lowest privileges) install.
Root: HKA; Subkey: "Software\Classes\.gdesk"; ValueType: string; ValueName: ""; ValueData: "GISDesk.Project"; \
    Flags: uninsdeletevalue; Tasks: fileassoc
Root: HKA; Subkey: "Software\Classes\GISDesk.Project"; ValueType: string; ValueName: ""; \
    ValueData: "GIS Desk project"; Flags: uninsdeletekey; Tasks: fileassoc
Root: HKA; Subkey: "Software\Classes\GISDesk.Project\DefaultIcon"; ValueType: string; ValueName: ""; \
    ValueData: "{app}\{#AppExe},0"; Tasks: fileassoc
Root: HKA; Subkey: "Software\Classes\GISDesk.Project\shell\open\command"; ValueType: string; ValueName: ""; \
    ValueData: """{app}\{#AppExe}"" ""%1"""; Tasks: fileassoc

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
