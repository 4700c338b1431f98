; Inno Setup script: the Windows installer of 安居台账 (Inno Setup 6.1 or later; this file is UTF-8).
; On a Windows PC, from the repository root (see README, "Building the Windows installer"):
;   .venv\Scripts\pyinstaller build_installer.spec
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" packaging\windows\anju.iss
; Output: dist\anju-<version>-setup.exe. The version is read from dist\anju\anju.exe, whose version
; resource build_installer.spec wrote from pyproject.toml: it is never typed in here.
; The program goes to Program Files\Anju; each user's data stays in %LOCALAPPDATA%\Anju, which
; the uninstaller never deletes.

#define BundleDir AddBackslash(SourcePath) + "..\..\dist\anju"
#define AppExe BundleDir + "\anju.exe"
#if !FileExists(AppExe)
  #error "dist\anju\anju.exe not found: run pyinstaller build_installer.spec first"
#endif
#define AppVersion GetStringFileInfo(AppExe, "ProductVersion")

[Setup]
AppId={{6F0C2B1E-8A4D-4C3B-9E55-2D1A7B9C4E10}
AppName=安居台账
AppVersion={#AppVersion}
AppVerName=安居台账 {#AppVersion}
AppPublisher=安居台账项目组
VersionInfoVersion={#GetVersionNumbersString(AppExe)}
VersionInfoProductName=安居台账
VersionInfoDescription=安居台账安装程序
DefaultDirName={autopf}\Anju
DefaultGroupName=安居台账
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=anju-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\anju.ico
UninstallDisplayIcon={app}\anju.exe
UninstallDisplayName=安居台账
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ShowLanguageDialog=no
CloseApplications=yes

[Languages]
; The official Simplified Chinese translation, if this Inno Setup has it in its Languages folder
; (recent versions ship it; for an older one copy it there from https://jrsoftware.org/files/istrans/).
; Without it, this script gives the wizard's main texts in Chinese itself.
#if FileExists(AddBackslash(CompilerPath) + "Languages\ChineseSimplified.isl")
Name: "chs"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
#else
Name: "chs"; MessagesFile: "compiler:Default.isl"
  #define OwnChineseMessages
#endif

#ifdef OwnChineseMessages
[LangOptions]
LanguageName=简体中文
LanguageID=$0804

[Messages]
SetupAppTitle=安装
SetupWindowTitle=安装 - %1
UninstallAppTitle=卸载
UninstallAppFullTitle=卸载 %1
ButtonBack=< 上一步(&B)
ButtonNext=下一步(&N) >
ButtonInstall=安装(&I)
ButtonOK=确定
ButtonCancel=取消
ButtonYes=是(&Y)
ButtonNo=否(&N)
ButtonFinish=完成(&F)
ButtonBrowse=浏览(&R)...
ExitSetupTitle=退出安装
ExitSetupMessage=安装尚未完成。如果现在退出，程序不会被安装。%n%n您可以以后再运行安装程序完成安装。%n%n确定退出安装吗？
WelcomeLabel1=欢迎使用 [name] 安装向导
WelcomeLabel2=本向导将在您的电脑上安装 [name/ver]。%n%n建议在继续之前关闭其他程序。
WizardSelectDir=选择安装位置
SelectDirDesc=[name] 要安装到哪里？
SelectDirLabel3=安装程序将把 [name] 安装到下面的文件夹。
SelectDirBrowseLabel=点击“下一步”继续。如需选择其他文件夹，请点击“浏览”。
WizardSelectTasks=选择附加任务
SelectTasksDesc=需要执行哪些附加任务？
SelectTasksLabel2=请选择安装 [name] 时要执行的附加任务，然后点击“下一步”。
WizardReady=准备安装
ReadyLabel1=安装程序已准备好在您的电脑上安装 [name]。
ReadyLabel2a=点击“安装”开始安装。
WizardInstalling=正在安装
InstallingLabel=正在安装 [name]，请稍候……
FinishedHeadingLabel=[name] 安装完成
FinishedLabelNoIcons=[name] 已安装在您的电脑上。
FinishedLabel=[name] 已安装在您的电脑上，可以从开始菜单中的快捷方式启动。
ClickFinish=点击“完成”退出安装程序。
ConfirmUninstall=确定要卸载 %1 吗？您的台账数据不会被删除。
UninstallStatusLabel=正在卸载 %1，请稍候……
UninstalledAll=%1 已从您的电脑上卸载。
#endif

[CustomMessages]
chs.DesktopIcon=在桌面创建快捷方式
chs.AdditionalIcons=附加快捷方式：
chs.LaunchAnju=现在启动安居台账
chs.DataKept=安居台账程序已卸载。您的台账数据没有删除，仍保存在下面的文件夹中（重新安装后可继续使用）：

[Tasks]
Name: "desktopicon"; Description: "{cm:DesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\安居台账"; Filename: "{app}\anju.exe"; WorkingDir: "{userdocs}"
Name: "{group}\卸载安居台账"; Filename: "{uninstallexe}"
Name: "{autodesktop}\安居台账"; Filename: "{app}\anju.exe"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\anju.exe"; Description: "{cm:LaunchAnju}"; Flags: nowait postinstall skipifsilent

[Code]
// The uninstaller removes only what [Files] installed; this tells the clerk where the data stayed.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent then
    MsgBox(CustomMessage('DataKept') + #13#10#13#10 + ExpandConstant('{localappdata}\Anju'),
           mbInformation, MB_OK);
end;
